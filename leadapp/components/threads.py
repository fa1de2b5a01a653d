"""A conversation between a consumer and a business (`messages.thread`): its messages and the form to write one.

Shared by the consumer's request card (one thread per business that took the request) and the business's lead
page. The text field of thread <match id> is `#thread-<match id>-body`, its message `#thread-<match id>-error`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.text import note
from leadapp.core.languages import english

BODY_MAX = 2000  # `models.messages.BODY_MAX`: the field stops there, the service refuses above it
PHOTO_TYPES = {"image/jpeg": [".jpg", ".jpeg"], "image/png": [".png"], "image/webp": [".webp"], "image/gif": [".gif"]}
PHOTO_MAX_BYTES = 5 * 1024 * 1024  # `messages.photos.PHOTO_MAX_BYTES`


# One photo picker per page (an upload's id must be fixed when the page is built: one made from a list item is
# undefined where Reflex hoists the upload's hooks): the consumer's portal shares it between its conversations.
PORTAL_PHOTO = "portal-photo"
LEAD_PHOTO = "lead-photo"


NO_PHOTO = english.NO_PHOTO
# The panel's words (`core.languages` CARD keys): the consumer's card passes its request's, the business reads these.
ENGLISH_WORDS = english.CARD


async def read_photo(files: list[Any]) -> bytes | None:
    """The bytes of the first uploaded file, read up to one byte over the limit (the service refuses a larger one);
    None when nothing was chosen."""
    for upload in files or []:
        return await upload.read(PHOTO_MAX_BYTES + 1)
    return None


def _photo_picker(upload_id: str, send_photo: Any, words: Any) -> rx.Component:
    """Pick one photo, then "Send photo" (the server checks its bytes and size again)."""
    return rx.hstack(
        # The label names the picker's file input (visually hidden by the dropzone, but still a form field);
        # a click on the button inside it opens the picker once (a label does not act for interactive content).
        rx.el.label(
            rx.upload.root(
                rx.button(rx.icon("image-plus", size=14), words["choose_photo"], type="button", variant="soft"),
                id=upload_id,
                accept=PHOTO_TYPES,
                max_files=1,
                max_size=PHOTO_MAX_BYTES,
                multiple=False,
                class_name="thread-photo-picker",
            ),
        ),
        rx.foreach(rx.selected_files(upload_id), lambda name: rx.text(name, size="1", class_name="thread-photo-name")),
        rx.button(
            rx.icon("upload", size=14),
            words["send_photo"],
            type="button",
            variant="outline",
            on_click=send_photo,
            class_name="send-photo",
        ),
        spacing="2",
        align="center",
        wrap="wrap",
    )


@dataclasses.dataclass
class MessageView:
    id: str = ""
    side: str = ""
    mine: str = ""
    author: str = ""
    body: str = ""
    sent: str = ""
    via: str = ""
    photo_url: str = ""


@dataclasses.dataclass
class ThreadView:
    match_id: str = ""
    business_name: str = ""
    can_write: str = ""
    messages: list[MessageView] = dataclasses.field(default_factory=list)


MESSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(MessageView))


def message_views(rows: Any) -> list[MessageView]:
    return [MessageView(**{name: str(m.get(name, "")) for name in MESSAGE_FIELDS}) for m in rows or []]


def thread_view(row: dict[str, Any]) -> ThreadView:
    """A row of `messages.thread` / `threads_by_lead` as the panel shows it."""
    return ThreadView(
        match_id=str(row.get("match_id", "")),
        business_name=str(row.get("business_name", "")),
        can_write=str(row.get("can_write", "")),
        messages=message_views(row.get("messages")),
    )


def field_id(match_id: Any) -> Any:
    return f"thread-{match_id}-body"


def _message(m: MessageView, words: Any) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text(m.author, weight="bold", size="1", class_name="thread-author"),
            note(m.sent, size="1"),
            rx.cond(m.via != "", rx.badge(m.via, size="1", variant="soft", class_name="thread-via")),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        rx.cond(m.body != "", rx.text(m.body, size="2", white_space="pre-wrap", class_name="thread-body")),
        rx.cond(
            m.photo_url != "",
            rx.link(
                rx.image(src=m.photo_url, alt=words["photo_alt"], max_width="16em", border_radius="6px"),
                href=m.photo_url,
                is_external=True,
                class_name="thread-photo",
            ),
        ),
        class_name="thread-message",
        data_mine=m.mine,
        data_side=m.side,
        align_self=rx.cond(m.mine == "yes", "flex-end", "flex-start"),
        background=rx.cond(m.mine == "yes", "var(--accent-3)", "var(--gray-3)"),
        border_radius="8px",
        padding="0.4em 0.7em",
        max_width="85%",
    )


def thread_panel(
    title: Any,
    match_id: Any,
    messages: Any,
    *,
    can_write: Any,
    on_submit: Any,
    error: Any,
    empty: Any,
    send_photo: Any | None = None,
    photo_upload: str = "",
    words: Any = ENGLISH_WORDS,
) -> rx.Component:
    """The conversation `title`, its `messages` (oldest first), and while `can_write` is "yes" the form
    (`on_submit` gets `match_id` and `body`); `error` is the refusal shown under the field. `send_photo`, when
    given, the events of "Send photo" (the page's one upload `photo_upload`). `words`: the panel's labels and buttons
    (a CARD of `core.languages`, or its Var: the consumer's card passes its request's language)."""
    body_id = field_id(match_id)
    return stacked_card(
        rx.hstack(rx.icon("messages-square", size=16), rx.text(title, weight="bold", size="2"), align="center"),
        rx.cond(
            messages.length() > 0,
            rx.vstack(
                rx.foreach(messages, lambda m: _message(m, words)),
                spacing="2",
                width="100%",
                class_name="thread-messages",
            ),
            note(empty, class_name="thread-empty"),
        ),
        rx.cond(
            can_write == "yes",
            rx.form(
                rx.vstack(
                    rx.el.input(type="hidden", name="match_id", value=match_id),
                    rx.el.label(words["your_message"], html_for=body_id, class_name="field-label"),
                    rx.text_area(name="body", id=body_id, max_length=BODY_MAX, width="100%", rows="3"),
                    feedback.error_text(error, f"thread-{match_id}-error", size="1"),
                    rx.button(
                        rx.icon("send", size=14), words["send_message"], type="submit", class_name="send-message"
                    ),
                    *([_photo_picker(photo_upload, send_photo, words)] if send_photo is not None else []),
                    spacing="1",
                    width="100%",
                ),
                on_submit=on_submit,
                # Cleared as it is sent: the field stops at the limit, so only a refusal of the thread itself
                # (a request closed meanwhile) loses the words, and that one is said under the field.
                reset_on_submit=True,
                no_validate=True,
                width="100%",
            ),
        ),
        class_name="message-thread",
        data_match=match_id,
    )
