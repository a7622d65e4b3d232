"""What the RIS says it did for one task (the dict the harness's plugin driver returns): every task, the
reports it sends and the tasks beyond them (`handlers.py`), answers in this one shape."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    task_id: str
    sent_to: str
    ins: str | None
    detail: str
    steps: list[str] = field(default_factory=list)
    swallowed: str | None = None  # the outage the `swallow-outage` defect hid

    def to_dict(self) -> dict:
        return {"ok": True, "task_id": self.task_id, "sent_to": self.sent_to, "ins": self.ins,
                "detail": self.detail, "steps": self.steps}
