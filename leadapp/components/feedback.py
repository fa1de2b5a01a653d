"""Toasts that tell the user how their action went, on top of the notice or error the page shows in place.

Every page action that can succeed or fail returns one of these from its event handler, so the answer is seen
even when the inline notice is out of view (far down a list, under a dialog, on a phone). The toast repeats the
page's own words: one message, said in two places.

Why not `rx.toast.success(...)` returned from the handler: a toast sent by the server reaches the browser as a
string of JavaScript that Reflex runs through `eval`, which the pages' Content-Security-Policy refuses (no
`'unsafe-eval'`, see leadapp/api/headers.py), so it would never show. Instead the handler returns an event
that puts the toast in `FeedbackState`, and `toast_outlet()` (in every page's frame) shows it from the page's
own compiled script. The toaster is the one Reflex puts in every app (sonner; its inline styles are allowed by
the page's style-src).
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec
from reflex.vars import Var, VarData

# Errors stay until read or dismissed; a success goes away by itself.
_DURATION_MS = {"success": 5000, "error": 10000}
_MAX_LENGTH = 300

# A form refused field by field says why under each field; its toast only points there.
FIX_FIELDS = "Not saved: some fields need a change (see the messages under them)."


class FeedbackState(rx.State):
    """The last toast asked for in this tab; `seq` changes with each, so the same words twice show twice."""

    toast_kind: str = ""
    toast_message: str = ""
    seq: int = 0

    @rx.event
    def show(self, kind: str, message: str):
        # Callable by the browser with any payload: it only ever shows words to the tab that sent them.
        if kind not in _DURATION_MS or not isinstance(message, str) or not message:
            return
        self.toast_kind, self.toast_message = kind, message[:_MAX_LENGTH]
        self.seq += 1


def done(message: str) -> EventSpec:
    """A success toast saying `message`."""
    return FeedbackState.show("success", message)


def failed(message: str) -> EventSpec:
    """An error toast saying `message`."""
    return FeedbackState.show("error", message)


def outcome(notice: str, error: str) -> EventSpec | None:
    """The toast for an action that just ran: its error if it has one, else its notice; None when neither.

    Where the page shows the result in place (a status badge that changed) and has no notice of its own, the
    handler passes the words of the toast as `notice`."""
    if error:
        return failed(error)
    if notice:
        return done(notice)
    return None


class _ToastOutlet(rx.Fragment):
    """Renders nothing; shows each new toast of `FeedbackState` through the app's toaster."""

    def add_imports(self) -> dict[str, str]:
        return {"react": "useEffect"}

    def add_hooks(self) -> list[str | Var]:
        kind, message, seq = FeedbackState.toast_kind, FeedbackState.toast_message, FeedbackState.seq
        hydrated = rx.State.is_hydrated
        durations = ", ".join(f"{k}: {v}" for k, v in _DURATION_MS.items())
        # The state outlives the page (a reload or another page of the same tab brings back the last toast):
        # the first value seen once the state is loaded is only noted; a toast shows when `seq` moves past it.
        js = f"""
useEffect(() => {{
  if (!{hydrated!s}) return;
  const seq = {seq!s};
  const seen = window.__leadappToastSeq;
  window.__leadappToastSeq = seq;
  if (seen === undefined || seq <= seen) return;
  const kind = {kind!s};
  const show = refs['__toast']?.[kind];
  if (show) show({message!s}, {{ duration: ({{ {durations} }})[kind], closeButton: true }});
}}, [{seq!s}, {hydrated!s}]);
"""
        data = VarData.merge(
            kind._get_all_var_data(),
            message._get_all_var_data(),
            seq._get_all_var_data(),
            hydrated._get_all_var_data(),
            VarData(imports={"$/utils/state": ["refs"]}),
        )
        return [Var(_js_expr=js, _var_data=data)]


def toast_outlet() -> rx.Component:
    """Put once in the page frame: the place toasts asked for by handlers are shown from."""
    return _ToastOutlet.create()


def error_callout(error: rx.Var, element_id: str | None = None, **props: object) -> rx.Component:
    """The page's error in place, announced (`role="alert"`), while there is one."""
    return rx.cond(error != "", rx.callout(error, color_scheme="red", role="alert", id=element_id, **props))


def problem_callout(message: rx.Var | str, element_id: str, **props: object) -> rx.Component:
    """Why the page cannot go on (a link that no longer works, a form refused as a whole), announced."""
    return rx.callout(message, icon="triangle-alert", color_scheme="red", role="alert", id=element_id, **props)


def error_text(error: rx.Var, element_id: str | rx.Var, size: str = "2") -> rx.Component:
    """Why a form (or one field) was refused, under it and announced, while there is a reason."""
    return rx.cond(error != "", rx.text(error, color_scheme="red", size=size, role="alert", id=element_id))


def notice_callout(notice: rx.Var, element_id: str, **props: object) -> rx.Component:
    """What the page's last action did, in place, while there is something to say."""
    return rx.cond(notice != "", rx.callout(notice, icon="check", color_scheme="green", id=element_id, **props))


def outcome_callouts(error: rx.Var, notice: rx.Var, prefix: str) -> rx.Component:
    """What the page's last action did or why it failed, in place: `#<prefix>-error` and `#<prefix>-notice`."""
    return rx.fragment(error_callout(error, f"{prefix}-error"), notice_callout(notice, f"{prefix}-notice"))
