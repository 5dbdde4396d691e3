"""Setting the tip on a tab sends only what changed: a reload of the tip on screen sends only its reference."""

from __future__ import annotations

from reflex.state import State

from oo.services.tips import serving as tips
from oo.services.tips.explain import Explanation, Recommendation
from oo.state.tip import TipState


def _tab() -> TipState:
    root = State(_reflex_internal_init=True)
    return root.get_substate(TipState.get_full_name().split(".")[1:])


def _shown(tip_id: str, text: str) -> tips.Shown:
    tip = Recommendation(tip_id=tip_id, text=text, kind="todo", explanation=Explanation("Due today."))
    return tips.Shown(tip, f"ref-{tip_id}", tips.SourceState(has_source=True, needs_reconnect=False))


def _sent(tab: TipState) -> set[str]:
    dirty = set(tab.dirty_vars)
    tab._get_root_state()._clean()
    return dirty


def test_the_same_tip_again_marks_nothing_and_a_new_tip_marks_what_changed():
    tab = _tab()
    tab._set(_shown("t1", "Call the bank"))
    assert {"text", "why", "kind", "view_key", "loaded"} <= _sent(tab)
    tab._set(_shown("t1", "Call the bank"))
    tab._acknowledge("")  # a load clears an acknowledgement; none is shown
    assert _sent(tab) == {"view_key"}  # the answer to the load names the tip on screen
    tab._set(_shown("t2", "Water the plants"))
    assert _sent(tab) == {"_tip_id", "text", "view_key"}  # same kind, same reason, same sources
    tab.text = "edited"
    tab._set(_shown("t2", "Water the plants"))
    assert _sent(tab) == {"text", "view_key"}


def test_an_acknowledgement_is_cleared_once():
    tab = _tab()
    tab._acknowledge("Done.", undo={"ref": "ref-t1", "key": "k", "text": "Call the bank", "why": ""})
    assert {"ack", "ack_id", "can_undo"} <= _sent(tab)
    tab._acknowledge("")
    assert {"ack", "ack_id", "can_undo"} <= _sent(tab) and (tab.ack, tab.can_undo, tab._undo) == (
        "",
        False,
        {},
    )
    tab._acknowledge("")
    assert _sent(tab) == set()
