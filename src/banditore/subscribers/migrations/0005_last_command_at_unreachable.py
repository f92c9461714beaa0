from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscribers", "0004_choice_related_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscriber",
            name="last_command_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="consentevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("subscribe", "subscribe"),
                    ("confirm", "confirm"),
                    ("approve", "approved by an operator"),
                    ("topics", "topics changed"),
                    ("unsubscribe", "unsubscribe"),
                    ("unreachable", "unreachable"),
                    ("erase", "erase"),
                ],
                max_length=12,
            ),
        ),
    ]
