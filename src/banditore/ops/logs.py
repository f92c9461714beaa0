"""One JSON object per log record (BANDITORE_LOG_FORMAT=json), for log shippers."""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has: anything else on a record came from the call's `extra`
# (broadcast_id, channel_id, …) and is written out as a field of its own.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an extra that JSON can't hold (a datetime, a model) is still written.
        return json.dumps(entry, ensure_ascii=False, default=str)
