from django.db import models


class TaskClaim(models.Model):
    """A named claim held while a background task works on something (see common/tasks.py):
    a row, so every consumer process on every machine sees it, whatever the queue backend."""

    key = models.CharField(max_length=200, unique=True)
    claimed_at = models.DateTimeField()
    token = models.CharField(max_length=32)

    def __str__(self):
        return self.key
