"""What Slack refuses in a message or a view, as a pure function: payload → violations.

The Slack stand-in (``slack_api``) answers every ``chat.postMessage``, ``chat.update``,
``chat.postEphemeral``, ``response_url`` post and ``views.open`` / ``update`` / ``push`` /
``publish`` through these checks, and the rendered-views test calls them directly. A violation
reads as Slack writes it in ``response_metadata.messages``::

    [ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]

How Slack answers (and so the stand-in): blocks that break a rule → ``invalid_blocks``; a view
that does → ``invalid_arguments``; ``text`` over 40,000 characters → ``msg_too_long`` (the
method pages list it; the chat.postMessage page also says Slack truncates such text, the
stand-in refuses it so that nothing is cut silently). HTTP 200 with ``ok: false`` in every case;
a ``response_url`` answers 400 with the error as plain text, as incoming webhooks do (assumed).

Limits, each from Slack's reference pages (checked against them; "assumed" where the page does
not say and the figure is Slack's observed behaviour or the strictest reading):

==============================================  ======  ====================================
limit                                            value   source
==============================================  ======  ====================================
blocks in a message                              50      [blocks] "Blocks" overview
blocks in a modal or Home tab view               100     [views] modal/home ``blocks``
message ``text``                                 40,000  [postMessage] "Truncating content"
text object ``text``                             1-3000  [composition] text object
section ``text`` / each of ≤ 10 ``fields``       3000 / 2000  [blocks] section
header ``text`` (plain_text)                     150     [blocks] header
context ``elements``                             1-10    [blocks] context
actions ``elements``                             1-25    [blocks] actions
input ``label`` / ``hint`` (plain_text)          2000    [blocks] input
image ``image_url`` / ``alt_text`` / ``title``   3000 / 2000 / 2000  [blocks] image
``block_id``: length; unique in the message/view 255     [blocks] every block
``action_id``: length; unique within its block   255     [elements] every element
button ``text`` (plain_text) / ``value`` / url   75 / 2000 / 3000  [elements] button
button ``accessibility_label``                   75      [elements] button
``placeholder`` (plain_text)                     150     [elements] selects, inputs
static select ``options`` / ``option_groups``    100 / 100  [elements] static select
overflow ``options``                             1-5     [elements] overflow menu
radio buttons / checkboxes ``options``           10 / 10  [elements] radio buttons, checkboxes
plain-text input ``min_length`` / ``max_length``  ≤ 3000  [elements] plain-text input
file input ``max_files``                         1-10    [elements] file input
option ``text`` / ``value`` / ``description``    75 / 150 / 75  [composition] option
option ``text`` plain_text in selects, overflow  —       [composition] option
option group ``label`` / ``options``             75 / 100  [composition] option group
confirm ``title`` / ``text`` / ``confirm``/deny  100 / 300 / 30 / 30  [composition] confirm
modal ``title`` / ``submit`` / ``close``         24      [views] modal
modal ``submit`` required with an input block    —       [views] modal
``private_metadata``                             3000    [views] modal/home
``callback_id`` / ``external_id``                255 / 255 (external_id assumed) [views]
``block_id`` unique also across a view           —       assumed (stricter reading)
input blocks: modals, messages and Home tabs     —       [blocks] input ("Available in surfaces")
header / button / option-in-select text types    plain_text only  [blocks], [elements]
radio / checkbox option text                     plain_text or mrkdwn  [composition] option
==============================================  ======  ====================================

[blocks]       "Reference: Layout blocks", https://api.slack.com/reference/block-kit/blocks
               (now https://docs.slack.dev/reference/block-kit/blocks, e.g. "Section block")
[elements]     "Reference: Block elements", https://api.slack.com/reference/block-kit/block-elements
[composition]  "Reference: Composition objects",
               https://api.slack.com/reference/block-kit/composition-objects
[views]        "Reference: Defining view objects", https://api.slack.com/reference/surfaces/views
               (https://docs.slack.dev/reference/views/modal-views)
[postMessage]  "chat.postMessage", https://api.slack.com/methods/chat.postMessage
response_url   "Handling user interaction in your Slack apps",
               https://api.slack.com/interactivity/handling: "up to 5 times within 30 minutes"
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Json = dict[str, Any]
Surface = Literal["message", "modal", "home"]

MAX_MESSAGE_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 3000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_INPUT_LABEL = 2000
MAX_INPUT_HINT = 2000
MAX_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_PLACEHOLDER = 150
MAX_SELECT_OPTIONS = 100
MAX_OPTION_GROUPS = 100
MAX_OVERFLOW_OPTIONS = 5
MAX_RADIO_OPTIONS = 10
MAX_CHECKBOX_OPTIONS = 10
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_DESCRIPTION = 75
MAX_OPTION_GROUP_LABEL = 75
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_VIEW_TITLE = 24
MAX_VIEW_BUTTON = 24
MAX_PRIVATE_METADATA = 3000
MAX_IMAGE_ALT_TEXT = 2000
MAX_FILE_INPUT_FILES = 10

SELECTS = frozenset(
    {
        "static_select",
        "multi_static_select",
        "external_select",
        "multi_external_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "multi_conversations_select",
        "channels_select",
        "multi_channels_select",
    }
)
INPUT_ELEMENTS = SELECTS | {
    "plain_text_input",
    "number_input",
    "email_text_input",
    "url_text_input",
    "datepicker",
    "timepicker",
    "datetimepicker",
    "radio_buttons",
    "checkboxes",
    "file_input",
    "rich_text_input",
}
ACTION_ELEMENTS = (SELECTS | INPUT_ELEMENTS | {"button", "overflow"}) - {
    "file_input",
    "plain_text_input",
    "number_input",
    "email_text_input",
    "url_text_input",
    "rich_text_input",
}
SECTION_ACCESSORIES = ACTION_ELEMENTS | {"image"}
BLOCK_TYPES = frozenset(
    {"section", "divider", "header", "context", "actions", "input", "image", "rich_text", "file"}
)


@dataclass(frozen=True)
class Violation:
    """One rule broken: where (a JSON pointer into the payload) and what Slack says."""

    pointer: str
    problem: str

    def message(self) -> str:
        return f"[ERROR] {self.problem} [json-pointer:{self.pointer}]"


def message_violations(payload: Json, *, prefix: str = "") -> list[Violation]:
    """What Slack refuses in a message payload (``text`` and ``blocks``): chat.postMessage,
    chat.update, chat.postEphemeral and response_url posts."""
    found: list[Violation] = []
    text = payload.get("text")
    if text is not None:
        if not isinstance(text, str):
            found.append(Violation(f"{prefix}/text", "must provide a string"))
        elif len(text) > MAX_MESSAGE_TEXT:
            found.append(Violation(f"{prefix}/text", _too_long(MAX_MESSAGE_TEXT)))
    blocks = payload.get("blocks")
    if blocks is not None:
        found.extend(blocks_violations(blocks, "message", f"{prefix}/blocks"))
    return found


def view_violations(view: Any, *, prefix: str = "/view") -> list[Violation]:
    """What Slack refuses in a view object (views.open/update/push/publish)."""
    if not isinstance(view, dict):
        return [Violation(prefix, "must provide an object")]
    found: list[Violation] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [Violation(f"{prefix}/type", "must be a valid enum value")]
    blocks = view.get("blocks")
    if blocks is None:
        found.append(Violation(f"{prefix}/blocks", "is required"))
        blocks = []
    else:
        found.extend(blocks_violations(blocks, kind, f"{prefix}/blocks"))
    if kind == "modal":
        if "title" not in view:
            found.append(Violation(f"{prefix}/title", "is required"))
        else:
            found.extend(_text(view["title"], f"{prefix}/title", MAX_VIEW_TITLE, plain=True))
        for name in ("submit", "close"):
            if name in view:
                found.extend(_text(view[name], f"{prefix}/{name}", MAX_VIEW_BUTTON, plain=True))
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and "submit" not in view:
            found.append(
                Violation(f"{prefix}/submit", "must be provided when an input block is present")
            )
    found.extend(_string(view, "private_metadata", prefix, MAX_PRIVATE_METADATA))
    found.extend(_string(view, "callback_id", prefix, MAX_ID))
    found.extend(_string(view, "external_id", prefix, MAX_ID))
    return found


def blocks_violations(blocks: Any, surface: Surface, pointer: str = "/blocks") -> list[Violation]:
    if not isinstance(blocks, list):
        return [Violation(pointer, "must provide an array")]
    found: list[Violation] = []
    most = MAX_MESSAGE_BLOCKS if surface == "message" else MAX_VIEW_BLOCKS
    if len(blocks) > most:
        found.append(Violation(pointer, f"no more than {most} items allowed"))
    seen_block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict):
            found.append(Violation(where, "must provide an object"))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            found.extend(_string(block, "block_id", where, MAX_ID))
            if block_id in seen_block_ids:
                found.append(Violation(f"{where}/block_id", f"duplicate block_id: {block_id}"))
            seen_block_ids.add(str(block_id))
        found.extend(_block(block, where))
    return found


# -- blocks -------------------------------------------------------------------------------------


def _block(block: Json, where: str) -> Iterator[Violation]:
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        yield Violation(f"{where}/type", f"unsupported type: {kind}")
        return
    if kind == "section":
        if "text" not in block and "fields" not in block:
            yield Violation(where, "must provide text or fields")
        if "text" in block:
            yield from _text(block["text"], f"{where}/text", MAX_SECTION_TEXT)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not fields:
                yield Violation(f"{where}/fields", "must provide a non-empty array")
            else:
                if len(fields) > MAX_SECTION_FIELDS:
                    yield Violation(
                        f"{where}/fields", f"no more than {MAX_SECTION_FIELDS} items allowed"
                    )
                for n, field in enumerate(fields):
                    yield from _text(field, f"{where}/fields/{n}", MAX_SECTION_FIELD_TEXT)
        if "accessory" in block:
            yield from _element(block["accessory"], f"{where}/accessory", SECTION_ACCESSORIES)
    elif kind == "header":
        yield from _text(block.get("text"), f"{where}/text", MAX_HEADER_TEXT, plain=True)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            yield Violation(f"{where}/elements", "must provide a non-empty array")
            return
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            yield Violation(
                f"{where}/elements", f"no more than {MAX_CONTEXT_ELEMENTS} items allowed"
            )
        for n, element in enumerate(elements):
            at = f"{where}/elements/{n}"
            if isinstance(element, dict) and element.get("type") == "image":
                yield from _element(element, at, {"image"})
            else:
                yield from _text(element, at, MAX_TEXT)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            yield Violation(f"{where}/elements", "must provide a non-empty array")
            return
        if len(elements) > MAX_ACTIONS_ELEMENTS:
            yield Violation(
                f"{where}/elements", f"no more than {MAX_ACTIONS_ELEMENTS} items allowed"
            )
        action_ids: set[str] = set()
        for n, element in enumerate(elements):
            at = f"{where}/elements/{n}"
            yield from _element(element, at, ACTION_ELEMENTS)
            if isinstance(element, dict) and "action_id" in element:
                action_id = str(element["action_id"])
                if action_id in action_ids:
                    yield Violation(f"{at}/action_id", f"duplicate action_id: {action_id}")
                action_ids.add(action_id)
    elif kind == "input":
        yield from _text(block.get("label"), f"{where}/label", MAX_INPUT_LABEL, plain=True)
        if "hint" in block:
            yield from _text(block["hint"], f"{where}/hint", MAX_INPUT_HINT, plain=True)
        if "element" not in block:
            yield Violation(f"{where}/element", "is required")
        else:
            yield from _element(block["element"], f"{where}/element", INPUT_ELEMENTS)
    elif kind == "image":
        yield from _image(block, where)
        if "title" in block:
            yield from _text(block["title"], f"{where}/title", MAX_IMAGE_ALT_TEXT, plain=True)


# -- elements -----------------------------------------------------------------------------------


def _element(element: Any, where: str, allowed: frozenset[str] | set[str]) -> Iterator[Violation]:
    if not isinstance(element, dict):
        yield Violation(where, "must provide an object")
        return
    kind = element.get("type")
    if kind not in allowed:
        yield Violation(f"{where}/type", f"unsupported type: {kind}")
        return
    if kind == "image":
        yield from _image(element, where)
        return
    yield from _string(element, "action_id", where, MAX_ID)
    if "placeholder" in element:
        yield from _text(
            element["placeholder"], f"{where}/placeholder", MAX_PLACEHOLDER, plain=True
        )
    if "confirm" in element:
        yield from _confirm(element["confirm"], f"{where}/confirm")
    if kind == "button":
        yield from _text(element.get("text"), f"{where}/text", MAX_BUTTON_TEXT, plain=True)
        yield from _string(element, "value", where, MAX_BUTTON_VALUE)
        yield from _string(element, "url", where, MAX_URL)
        yield from _string(element, "accessibility_label", where, MAX_BUTTON_TEXT)
        if "style" in element and element["style"] not in ("primary", "danger"):
            yield Violation(f"{where}/style", "must be a valid enum value")
    elif kind in ("static_select", "multi_static_select"):
        options, groups = element.get("options"), element.get("option_groups")
        if (options is None) == (groups is None):
            yield Violation(where, "must provide exactly one of options or option_groups")
        if options is not None:
            yield from _options(options, f"{where}/options", MAX_SELECT_OPTIONS, plain=True)
        if groups is not None:
            yield from _option_groups(groups, f"{where}/option_groups")
        if "initial_option" in element:
            yield from _option(element["initial_option"], f"{where}/initial_option", plain=True)
    elif kind == "overflow":
        yield from _options(
            element.get("options"), f"{where}/options", MAX_OVERFLOW_OPTIONS, plain=True
        )
    elif kind in ("radio_buttons", "checkboxes"):
        most = MAX_RADIO_OPTIONS if kind == "radio_buttons" else MAX_CHECKBOX_OPTIONS
        yield from _options(element.get("options"), f"{where}/options", most, plain=False)
        if "initial_option" in element:
            yield from _option(element["initial_option"], f"{where}/initial_option", plain=False)
        for n, option in enumerate(element.get("initial_options") or []):
            yield from _option(option, f"{where}/initial_options/{n}", plain=False)
    elif kind == "plain_text_input":
        for name in ("min_length", "max_length"):
            value = element.get(name)
            if value is not None and not (0 <= int(value) <= MAX_TEXT):
                yield Violation(f"{where}/{name}", f"must be at most {MAX_TEXT}")
    elif kind == "file_input":
        value = element.get("max_files")
        if value is not None and not (1 <= int(value) <= MAX_FILE_INPUT_FILES):
            yield Violation(f"{where}/max_files", f"must be between 1 and {MAX_FILE_INPUT_FILES}")


def _image(element: Json, where: str) -> Iterator[Violation]:
    if "image_url" not in element and "slack_file" not in element:
        yield Violation(f"{where}/image_url", "is required")
    yield from _string(element, "image_url", where, MAX_URL)
    if "alt_text" not in element:
        yield Violation(f"{where}/alt_text", "is required")
    yield from _string(element, "alt_text", where, MAX_IMAGE_ALT_TEXT)


def _options(options: Any, where: str, most: int, *, plain: bool) -> Iterator[Violation]:
    if not isinstance(options, list) or not options:
        yield Violation(where, "must provide a non-empty array")
        return
    if len(options) > most:
        yield Violation(where, f"no more than {most} items allowed")
    for n, option in enumerate(options):
        yield from _option(option, f"{where}/{n}", plain=plain)


def _option(option: Any, where: str, *, plain: bool) -> Iterator[Violation]:
    if not isinstance(option, dict):
        yield Violation(where, "must provide an object")
        return
    yield from _text(option.get("text"), f"{where}/text", MAX_OPTION_TEXT, plain=plain)
    if "value" not in option:
        yield Violation(f"{where}/value", "is required")
    yield from _string(option, "value", where, MAX_OPTION_VALUE)
    if "description" in option:
        yield from _text(
            option["description"], f"{where}/description", MAX_OPTION_DESCRIPTION, plain=plain
        )
    yield from _string(option, "url", where, MAX_URL)


def _option_groups(groups: Any, where: str) -> Iterator[Violation]:
    if not isinstance(groups, list) or not groups:
        yield Violation(where, "must provide a non-empty array")
        return
    if len(groups) > MAX_OPTION_GROUPS:
        yield Violation(where, f"no more than {MAX_OPTION_GROUPS} items allowed")
    for n, group in enumerate(groups):
        at = f"{where}/{n}"
        if not isinstance(group, dict):
            yield Violation(at, "must provide an object")
            continue
        yield from _text(group.get("label"), f"{at}/label", MAX_OPTION_GROUP_LABEL, plain=True)
        yield from _options(group.get("options"), f"{at}/options", MAX_SELECT_OPTIONS, plain=True)


def _confirm(confirm: Any, where: str) -> Iterator[Violation]:
    if not isinstance(confirm, dict):
        yield Violation(where, "must provide an object")
        return
    yield from _text(confirm.get("title"), f"{where}/title", MAX_CONFIRM_TITLE, plain=True)
    yield from _text(confirm.get("text"), f"{where}/text", MAX_CONFIRM_TEXT)
    yield from _text(confirm.get("confirm"), f"{where}/confirm", MAX_CONFIRM_BUTTON, plain=True)
    yield from _text(confirm.get("deny"), f"{where}/deny", MAX_CONFIRM_BUTTON, plain=True)
    if "style" in confirm and confirm["style"] not in ("primary", "danger"):
        yield Violation(f"{where}/style", "must be a valid enum value")


# -- text ---------------------------------------------------------------------------------------


def _text(obj: Any, where: str, most: int, *, plain: bool = False) -> Iterator[Violation]:
    """A text object: ``plain_text`` (or also ``mrkdwn`` unless ``plain``), 1..``most`` chars."""
    if obj is None:
        yield Violation(where, "is required")
        return
    if not isinstance(obj, dict):
        yield Violation(where, "must provide an object")
        return
    kind = obj.get("type")
    if kind not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        yield Violation(f"{where}/type", "must be a valid enum value")
    text = obj.get("text")
    if not isinstance(text, str):
        yield Violation(f"{where}/text", "must provide a string")
    elif not text:
        yield Violation(f"{where}/text", "must be more than 0 characters")
    elif len(text) > min(most, MAX_TEXT):
        yield Violation(f"{where}/text", _too_long(min(most, MAX_TEXT)))
    if "emoji" in obj and kind != "plain_text":
        yield Violation(f"{where}/emoji", "is only allowed in plain_text")
    if "verbatim" in obj and kind != "mrkdwn":
        yield Violation(f"{where}/verbatim", "is only allowed in mrkdwn")


def _string(obj: Json, name: str, where: str, most: int) -> Iterator[Violation]:
    if name not in obj:
        return
    value = obj[name]
    if not isinstance(value, str):
        yield Violation(f"{where}/{name}", "must provide a string")
    elif len(value) > most:
        yield Violation(f"{where}/{name}", _too_long(most))


def _too_long(most: int) -> str:
    return f"must be less than {most + 1} characters"
