from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time each worker process finished a tick: /readyz wants a recent one."""

    worker = models.CharField(max_length=128, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"
