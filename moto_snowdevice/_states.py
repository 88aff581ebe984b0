"""TaskState and ExecutionState of the service model, and the moves an execution may make."""

# TaskState and ExecutionState of the service model
TASK_IN_PROGRESS, TASK_CANCELED, TASK_COMPLETED = "IN_PROGRESS", "CANCELED", "COMPLETED"

QUEUED, IN_PROGRESS, CANCELED = "QUEUED", "IN_PROGRESS", "CANCELED"

SUCCEEDED, FAILED, REJECTED, TIMED_OUT = "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"

FINAL_EXECUTION_STATES = frozenset({CANCELED, FAILED, SUCCEEDED, REJECTED, TIMED_OUT})

# How a device's work may end, the ends set_execution_outcomes weighs; CANCELED is the cloud's doing
OUTCOME_STATES = FINAL_EXECUTION_STATES - {CANCELED}

# Where an explicit command may move an execution; a device runs the work in IN_PROGRESS
EXECUTION_TRANSITIONS = {
    QUEUED: frozenset({IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT, REJECTED, CANCELED}),
    IN_PROGRESS: frozenset({SUCCEEDED, FAILED, TIMED_OUT}),
}

RUNS_ON_DEVICE = frozenset({IN_PROGRESS, SUCCEEDED, FAILED})
