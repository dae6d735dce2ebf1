"""Block Kit primitives. Callers pass text that is already escaped (``commands.text``)."""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

SECTION_TEXT_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
MODAL_BLOCK_LIMIT = 100


def plain(text: str, *, emoji: bool = True) -> Block:
    return {"type": "plain_text", "text": text, "emoji": emoji}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def section(text: str, *, accessory: Block | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(_clip(text, SECTION_TEXT_LIMIT))}
    if accessory is not None:
        block["accessory"] = accessory
    if block_id is not None:
        block["block_id"] = block_id
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": plain(_clip(text, 150))}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(_clip(t, 2000)) for t in texts]}


def divider() -> Block:
    return {"type": "divider"}


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(text),
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        element["style"] = style
    if confirm is not None:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, yes: str, no: str = "Cancel") -> Block:
    return {
        "title": plain(title),
        "text": mrkdwn(text),
        "confirm": plain(yes),
        "deny": plain(no),
    }


def option(text: str, value: str, description: str | None = None) -> Block:
    item: Block = {"text": plain(text), "value": value}
    if description is not None:
        item["description"] = plain(description)
    return item


def input_block(
    block_id: str, label: str, element: Block, *, optional: bool = False, hint: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": block_id},
        "optional": optional,
    }
    if hint is not None:
        block["hint"] = plain(hint)
    return block


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str | None = None,
    close: str = "Close",
    private_metadata: str = "",
) -> Block:
    view: Block = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(_clip(title, 24)),
        "close": plain(close),
        "blocks": blocks[:MODAL_BLOCK_LIMIT],
        "private_metadata": private_metadata,
    }
    if submit is not None:
        view["submit"] = plain(submit)
    return view


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
