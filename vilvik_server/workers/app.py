"""The Celery app of a worker: the task, and one WorkerProcess per pool process."""
import logging

from ..engine import broker
from . import task
from .process import WorkerProcess

log = logging.getLogger("vilvik.worker")


def make_app(settings, node):
    """A Celery app whose pool processes each start a WorkerProcess and run `vilvik.run` tasks."""
    from celery import Celery, signals

    app = Celery("vilvik", set_as_current=False)
    app.conf.update(broker.celery_config(settings))
    state = {}

    @signals.worker_process_init.connect(weak=False)
    def start_process(**_kwargs):
        process = WorkerProcess(settings, node)
        process.start()
        state["process"] = process
        log.info("worker process %s ready: slot %d, sandbox %s", process.name, process.slot,
                 process.sandbox.get("mode"))

    @signals.worker_process_shutdown.connect(weak=False)
    def stop_process(**_kwargs):
        process = state.pop("process", None)
        if process is not None:
            process.stop()

    @app.task(name=broker.TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
    def run(self, payload):
        task.run(state["process"], payload)

    return app
