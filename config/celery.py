"""The Celery application. Its settings come from Django settings (``CELERY_*``); queues,
routes and the beat schedule of the training loop are here."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("rlhf")
app.config_from_object("django.conf:settings", namespace="CELERY")

# Training and generation run on `training` (the GPU workers: `celery -A config worker -Q
# training --concurrency 1`); everything light runs on `default`.
app.conf.task_routes = {
    "training.tasks.job_run": {"queue": "training"},
    "training.tasks.*": {"queue": "default"},
}
app.conf.beat_schedule = {
    "training-jobs-sweep": {"task": "training.tasks.jobs_sweep", "schedule": crontab()},
    "training-rounds-tick": {"task": "training.tasks.rounds_tick", "schedule": crontab()},
}
app.autodiscover_tasks()
