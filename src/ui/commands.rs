//! Every action the window offers by name, with its keyboard shortcut: the
//! command palette (Ctrl+K or Ctrl+Shift+P) lists them, and the shortcuts
//! run them from anywhere in the window.

use egui::{Key, KeyboardShortcut, Modifiers, RichText};

use super::Tab;

/// Something a person can ask the window to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send the composed message.
    Send,
    /// Start an empty message.
    NewMessage,
    /// Attach files (the file dialog).
    Attach,
    /// The composed message as it would be sent.
    ShowRaw,
    /// Show the transcript panel and put the cursor in its filter.
    FindInTranscript,
    /// Show or hide the transcript panel.
    ToggleTranscript,
    /// Save the transcript panel's session to a file.
    SaveTranscript,
    /// Open a saved transcript.
    OpenTranscript,
    /// Go to a tab.
    Go(Tab),
    /// Light or dark, or whatever the system says.
    Theme(egui::ThemePreference),
    /// Open the palette.
    Palette,
}

/// An action, its name in the palette and its shortcut.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// What it does.
    pub action: Action,
    /// What the palette calls it.
    pub name: &'static str,
    /// Its shortcut, if it has one.
    pub shortcut: Option<KeyboardShortcut>,
}

const fn key(modifiers: Modifiers, key: Key) -> Option<KeyboardShortcut> {
    Some(KeyboardShortcut::new(modifiers, key))
}

const CMD: Modifiers = Modifiers::COMMAND;
const CMD_SHIFT: Modifiers = Modifiers::COMMAND.plus(Modifiers::SHIFT);

/// Every command, in the order the palette lists them.
pub const COMMANDS: &[Command] = &[
    Command {
        action: Action::Send,
        name: "Send the message",
        shortcut: key(CMD, Key::Enter),
    },
    Command {
        action: Action::NewMessage,
        name: "New message",
        shortcut: key(CMD, Key::N),
    },
    Command {
        action: Action::Attach,
        name: "Attach files…",
        shortcut: key(CMD_SHIFT, Key::A),
    },
    Command {
        action: Action::ShowRaw,
        name: "Show the raw message",
        shortcut: key(CMD_SHIFT, Key::R),
    },
    Command {
        action: Action::FindInTranscript,
        name: "Find in the transcript",
        shortcut: key(CMD, Key::F),
    },
    Command {
        action: Action::ToggleTranscript,
        name: "Show or hide the transcript",
        shortcut: key(CMD_SHIFT, Key::T),
    },
    Command {
        action: Action::SaveTranscript,
        name: "Save the transcript…",
        shortcut: key(CMD, Key::S),
    },
    Command {
        action: Action::OpenTranscript,
        name: "Open a saved transcript…",
        shortcut: key(CMD, Key::O),
    },
    Command {
        action: Action::Go(Tab::Compose),
        name: "Go to Compose",
        shortcut: key(CMD, Key::Num1),
    },
    Command {
        action: Action::Go(Tab::Drafts),
        name: "Go to Drafts",
        shortcut: key(CMD, Key::Num2),
    },
    Command {
        action: Action::Go(Tab::Outbox),
        name: "Go to Outbox",
        shortcut: key(CMD, Key::Num3),
    },
    Command {
        action: Action::Go(Tab::Sent),
        name: "Go to Sent",
        shortcut: key(CMD, Key::Num4),
    },
    Command {
        action: Action::Go(Tab::Inbox),
        name: "Go to the Sandbox inbox",
        shortcut: key(CMD, Key::Num5),
    },
    Command {
        action: Action::Go(Tab::Console),
        name: "Go to Console",
        shortcut: key(CMD, Key::Num6),
    },
    Command {
        action: Action::Go(Tab::Accounts),
        name: "Go to Accounts",
        shortcut: key(CMD, Key::Num7),
    },
    Command {
        action: Action::Go(Tab::Learn),
        name: "Go to Learn (SMTP step by step)",
        shortcut: key(CMD, Key::Num8),
    },
    Command {
        action: Action::Theme(egui::ThemePreference::System),
        name: "Theme: follow the system",
        shortcut: None,
    },
    Command {
        action: Action::Theme(egui::ThemePreference::Light),
        name: "Theme: light",
        shortcut: None,
    },
    Command {
        action: Action::Theme(egui::ThemePreference::Dark),
        name: "Theme: dark",
        shortcut: None,
    },
    Command {
        action: Action::Palette,
        name: "Command palette",
        shortcut: key(CMD, Key::K),
    },
];

/// The palette's second shortcut (VS Code's).
const PALETTE_TOO: KeyboardShortcut = KeyboardShortcut::new(CMD_SHIFT, Key::P);

/// A shortcut as the palette and the tooltips write it (`Ctrl+Shift+A`,
/// `⌘⇧A` on macOS).
pub fn shortcut_text(ctx: &egui::Context, shortcut: &KeyboardShortcut) -> String {
    ctx.format_shortcut(shortcut)
}

/// The shortcut text of an action, for tooltips ("" when it has none).
pub fn shortcut_of(ctx: &egui::Context, action: Action) -> String {
    COMMANDS
        .iter()
        .find(|c| c.action == action)
        .and_then(|c| c.shortcut.as_ref())
        .map(|s| shortcut_text(ctx, s))
        .unwrap_or_default()
}

/// The actions whose shortcuts were pressed in this frame (consumed, so a
/// text field does not also see them).
pub fn pressed(ctx: &egui::Context) -> Vec<Action> {
    // Shift ones first: egui matches modifiers logically, so Ctrl+Shift+T
    // would also count as Ctrl+T.
    let mut all: Vec<(KeyboardShortcut, Action)> = COMMANDS
        .iter()
        .filter_map(|c| c.shortcut.map(|s| (s, c.action)))
        .chain([(PALETTE_TOO, Action::Palette)])
        .collect();
    all.sort_by_key(|(s, _)| !s.modifiers.shift);
    ctx.input_mut(|i| {
        // AltGr arrives as Ctrl+Alt on Windows, and egui ignores an extra
        // Alt: without this, typing an AltGr letter would save or open.
        let alt = i.modifiers.alt;
        all.iter()
            .filter(|(s, _)| (s.modifiers.alt || !alt) && i.consume_shortcut(s))
            .map(|(_, a)| *a)
            .collect()
    })
}

/// The palette's state while it is open.
#[derive(Debug, Default)]
pub struct Palette {
    /// What is typed.
    pub query: String,
    /// The highlighted row among the matches.
    pub selected: usize,
    /// Focus the query field in the next frame.
    just_opened: bool,
}

impl Palette {
    /// A palette that has just opened.
    pub fn opened() -> Palette {
        Palette {
            just_opened: true,
            ..Palette::default()
        }
    }

    /// The commands matching the query: every word of it in the name.
    pub fn matches(&self) -> Vec<&'static Command> {
        let words: Vec<String> = self
            .query
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        COMMANDS
            .iter()
            .filter(|c| c.action != Action::Palette)
            .filter(|c| {
                let name = c.name.to_lowercase();
                words.iter().all(|w| name.contains(w.as_str()))
            })
            .collect()
    }

    /// Draws the palette. `Some(Some(action))` runs an action and closes,
    /// `Some(None)` closes, `None` stays open.
    pub fn ui(&mut self, ctx: &egui::Context) -> Option<Option<Action>> {
        let mut outcome = None;
        let modal = egui::Modal::new(egui::Id::unique("command_palette")).show(ctx, |ui| {
            ui.set_width(460.0);
            let label = ui.label(RichText::new("Command").strong());
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.query)
                        .hint_text("type to find an action; Enter runs it")
                        .desired_width(f32::INFINITY),
                )
                .labelled_by(label.id);
            if std::mem::take(&mut self.just_opened) {
                field.request_focus();
            }
            if field.changed() {
                self.selected = 0;
            }
            let matches = self.matches();
            let (down, up, enter, escape) = ui.input_mut(|i| {
                (
                    i.consume_key(Modifiers::NONE, Key::ArrowDown),
                    i.consume_key(Modifiers::NONE, Key::ArrowUp),
                    i.consume_key(Modifiers::NONE, Key::Enter),
                    i.consume_key(Modifiers::NONE, Key::Escape),
                )
            });
            if down {
                self.selected = (self.selected + 1).min(matches.len().saturating_sub(1));
            }
            if up {
                self.selected = self.selected.saturating_sub(1);
            }
            if escape {
                outcome = Some(None);
            }
            if enter && let Some(c) = matches.get(self.selected) {
                outcome = Some(Some(c.action));
            }
            ui.separator();
            if matches.is_empty() {
                ui.label(RichText::new("No action has all these words.").weak());
            }
            egui::ScrollArea::vertical()
                .max_height(360.0)
                .show(ui, |ui| {
                    for (n, c) in matches.iter().enumerate() {
                        ui.horizontal(|ui| {
                            let row = ui.selectable_label(n == self.selected, c.name);
                            if let Some(s) = &c.shortcut {
                                ui.with_layout(
                                    egui::Layout::right_to_left(egui::Align::Center),
                                    |ui| {
                                        ui.label(
                                            RichText::new(shortcut_text(ui.ctx(), s))
                                                .weak()
                                                .monospace(),
                                        );
                                    },
                                );
                            }
                            if row.clicked() {
                                outcome = Some(Some(c.action));
                            }
                        });
                    }
                });
        });
        if modal.should_close() && outcome.is_none() {
            outcome = Some(None);
        }
        outcome
    }
}

impl super::App {
    /// Runs the actions whose shortcuts were pressed, and the palette when
    /// it is open; returns what the rest of the frame applies.
    pub(super) fn commands_ui(&mut self, ctx: &egui::Context) -> Vec<super::Intent> {
        let mut actions = pressed(ctx);
        if let Some(palette) = &mut self.palette {
            match palette.ui(ctx) {
                Some(Some(action)) => {
                    self.palette = None;
                    actions.push(action);
                }
                Some(None) => self.palette = None,
                None => {}
            }
        }
        actions
            .into_iter()
            .filter_map(|a| self.run_action(ctx, a))
            .collect()
    }

    /// What an action does to the window, or the intent it becomes.
    pub(super) fn run_action(
        &mut self,
        ctx: &egui::Context,
        action: Action,
    ) -> Option<super::Intent> {
        use super::Intent;
        match action {
            Action::Send if self.tab != Tab::Compose => {
                self.tab = Tab::Compose; // look first: the next press sends
                None
            }
            // What the form shows under its fields blocks the button and the
            // shortcut alike; nothing new to say.
            Action::Send if !self.compose.problems().is_empty() => None,
            Action::Send => match self.send_blocker() {
                Some(why) => {
                    self.status = super::Status::Failed(why);
                    None
                }
                None => Some(Intent::Send),
            },
            Action::NewMessage => {
                self.tab = Tab::Compose;
                Some(Intent::NewMessage)
            }
            Action::Attach => {
                self.tab = Tab::Compose;
                Some(Intent::PickFiles)
            }
            Action::ShowRaw => Some(Intent::ShowRaw),
            Action::FindInTranscript => {
                self.show_transcript = true;
                self.transcript.focus_filter();
                None
            }
            Action::ToggleTranscript => {
                self.show_transcript = !self.show_transcript;
                None
            }
            Action::SaveTranscript => Some(Intent::SaveTranscript),
            Action::OpenTranscript => Some(Intent::OpenTranscript),
            Action::Go(tab) => {
                self.tab = tab;
                None
            }
            Action::Theme(preference) => {
                ctx.set_theme(preference);
                None
            }
            Action::Palette => {
                self.palette = match self.palette {
                    Some(_) => None,
                    None => Some(Palette::opened()),
                };
                None
            }
        }
    }

    /// The top bar's menu: the palette, the theme.
    pub(super) fn menu_ui(&mut self, ui: &mut egui::Ui) -> Option<super::Intent> {
        let mut chosen = None;
        ui.menu_button("Menu", |ui| {
            let palette = format!(
                "Command palette…  {}",
                shortcut_of(ui.ctx(), Action::Palette)
            );
            if ui.button(palette).clicked() {
                chosen = Some(Action::Palette);
            }
            ui.separator();
            ui.label(RichText::new("Theme").weak());
            let current = ui.ctx().options(|o| o.theme_preference);
            for (preference, name) in [
                (egui::ThemePreference::System, "Follow the system"),
                (egui::ThemePreference::Light, "Light"),
                (egui::ThemePreference::Dark, "Dark"),
            ] {
                if ui.radio(current == preference, name).clicked() {
                    chosen = Some(Action::Theme(preference));
                }
            }
        })
        .response
        .on_hover_text(format!(
            "Every action and its shortcut ({}), and the theme",
            shortcut_of(ui.ctx(), Action::Palette)
        ));
        let ctx = ui.ctx().clone();
        chosen.and_then(|a| self.run_action(&ctx, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_commands_share_a_shortcut_and_every_tab_has_one() {
        let shortcuts: Vec<_> = COMMANDS.iter().filter_map(|c| c.shortcut).collect();
        for (i, a) in shortcuts.iter().enumerate() {
            assert!(!shortcuts[i + 1..].contains(a), "{a:?} twice");
        }
        assert!(!shortcuts.contains(&PALETTE_TOO));
        for tab in [
            Tab::Compose,
            Tab::Drafts,
            Tab::Outbox,
            Tab::Sent,
            Tab::Inbox,
            Tab::Console,
            Tab::Accounts,
            Tab::Learn,
        ] {
            assert!(
                COMMANDS
                    .iter()
                    .any(|c| c.action == Action::Go(tab) && c.shortcut.is_some()),
                "{tab:?}"
            );
        }
    }

    fn keys(modifiers: egui::Modifiers, key: egui::Key) -> Vec<Action> {
        let ctx = egui::Context::default();
        let mut found = Vec::new();
        let input = egui::RawInput {
            events: vec![
                egui::Event::ModifiersChanged(modifiers),
                egui::Event::Key {
                    key,
                    physical_key: None,
                    pressed: true,
                    repeat: false,
                    modifiers,
                },
            ],
            ..Default::default()
        };
        let mut output = ctx.run_ui(input, |ui| found = pressed(ui.ctx()));
        output.textures_delta.clear();
        found
    }

    #[test]
    fn altgr_letters_are_typed_not_shortcuts() {
        let ctrl = egui::Modifiers {
            ctrl: true,
            command: true,
            ..Default::default()
        };
        assert_eq!(keys(ctrl, egui::Key::S), [Action::SaveTranscript]);
        // Windows reports AltGr as Ctrl+Alt: AltGr+S types a letter
        // (ś on a Polish keyboard), it must not save.
        let altgr = egui::Modifiers { alt: true, ..ctrl };
        assert!(keys(altgr, egui::Key::S).is_empty());
        assert!(keys(altgr, egui::Key::O).is_empty());
        let shift = egui::Modifiers {
            shift: true,
            ..ctrl
        };
        assert_eq!(keys(shift, egui::Key::T), [Action::ToggleTranscript]);
    }

    #[test]
    fn the_palette_matches_every_word() {
        let mut p = Palette::default();
        assert_eq!(p.matches().len(), COMMANDS.len() - 1, "all but itself");
        p.query = "theme DARK".into();
        let names: Vec<_> = p.matches().iter().map(|c| c.name).collect();
        assert_eq!(names, ["Theme: dark"]);
        p.query = "transcript".into();
        assert_eq!(p.matches().len(), 4);
        p.query = "zzz".into();
        assert!(p.matches().is_empty());
    }
}
