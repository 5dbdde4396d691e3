"""Advice library (R10): which pieces exist, which ones work, and for whom? Create, edit, retire."""

import reflex as rx

from admin import routes
from admin.components import FIELD, MUTED, danger_button, data_table, section
from admin.layout import admin_page
from admin.state.advice import WINDOWS, AdminAdviceState
from oo.services.advice.library import ENERGIES, TOPICS

S = AdminAdviceState
PIECE_COLUMNS = [
    ("flag", ""),
    ("key", "Key"),
    ("text", "Advice"),
    ("topic", "Topic"),
    ("tags", "Tags"),
    ("source", "Source"),
    ("status", "Status"),
    ("shown", "Shown"),
    ("mix", "Reactions"),
    ("reward", "Mean reward"),
    ("interval", "95 % interval"),
]
TAG_COLUMNS = [
    ("flag", ""),
    ("tag", "Tag"),
    ("shown", "Shown"),
    ("mix", "Reactions"),
    ("reward", "Mean reward"),
    ("interval", "95 % interval"),
]


def _field(name: str, label: str, width: str = "100%") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=MUTED),
        rx.el.input(
            name=name, default_value=S.form[name], key=S.editing + name + S.form[name], aria_label=label,
            style={**FIELD, "width": width},
        ),
        spacing="1",
        width=width,
    )  # fmt: skip


def _select(name: str, label: str, options: tuple[str, ...]) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color=MUTED),
        rx.el.select(
            *[rx.el.option(o, value=o) for o in options],
            name=name, default_value=S.form[name], key=S.editing + name + S.form[name], aria_label=label,
            style=FIELD,
        ),
        spacing="1",
    )  # fmt: skip


def piece_form() -> rx.Component:
    """Add a piece, or edit the one picked with Edit."""
    return rx.form(
        rx.vstack(
            rx.text(rx.cond(S.editing != "", "Edit piece", "New piece"), weight="bold", size="2"),
            _field("text", "Advice (one or two sentences, at most 280 characters)"),
            rx.hstack(
                _select("topic", "Topic", TOPICS),
                _select("energy", "Energy", ENERGIES),
                _field("minutes", "Minutes", "6rem"),
                wrap="wrap",
                spacing="3",
            ),
            _field("time", "Time of day (morning, midday, afternoon, evening, night)"),
            _field(
                "contexts", "Contexts (after_focus, busy_day, weekend, workday, start_of_day, end_of_day, …)"
            ),
            _field("rationale", "Rationale or source (optional, one line)"),
            rx.hstack(
                rx.button(rx.cond(S.editing != "", "Save…", "Add…"), type="submit", high_contrast=True),
                rx.cond(
                    S.editing != "",
                    rx.button("New piece", type="button", variant="soft", on_click=S.new_piece),
                ),
            ),
            width="100%",
            spacing="2",
        ),
        on_submit=S.ask_save,
        reset_on_submit=False,
        width="100%",
        data_testid="advice-form",
    )


def piece_actions(row: rx.Var) -> rx.Component:
    """Edit, and retire or restore (the server re-checks and asks first)."""
    return rx.hstack(
        rx.button("Edit", size="1", variant="soft", on_click=S.edit(row["id"])),
        rx.cond(
            row["status"] == "active",
            danger_button("Retire", S.ask_status(row["id"], "retired")),
            danger_button("Restore", S.ask_status(row["id"], "active")),
        ),
        spacing="1",
    )


def advice_page() -> rx.Component:
    """The library, its numbers, and the form."""
    return admin_page(
        S,
        routes.ADVICE,
        "Advice library",
        "Which pieces of advice exist, which ones work, and for whom? Reward is the first reaction's; "
        "a piece is flagged low with ≥ 10 reactions and an interval below zero or mostly Dismiss.",
        rx.hstack(
            rx.text("Window", size="2", color=MUTED),
            rx.segmented_control.root(
                *[rx.segmented_control.item(f"{d} days", value=d) for d in WINDOWS],
                value=S.days,
                on_change=S.set_window,
            ),
            rx.text(S.low_count.to_string(), " flagged low", size="2", data_testid="advice-low-count"),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        section("New or edited piece", piece_form()),
        section("Pieces", data_table(S.pieces, PIECE_COLUMNS, "advice", actions=piece_actions)),
        section("Tags", data_table(S.tags, TAG_COLUMNS, "advice-tags")),
        section(
            "Task or advice: the learner against fixed kinds (mean reward where it drew the kind)",
            data_table(
                S.kind_rows,
                [("policy", "Policy"), ("reward", "Mean reward"), ("decisions", "Decisions")],
                "advice-kind",
            ),
        ),
    )
