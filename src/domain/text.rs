//! Text that other people's screens show (names): no control characters and no bidirectional
//! formatting characters, which could hide or reorder what an operator or caller reads.

/// Bidirectional formatting characters (Unicode UAX #9): embeddings, overrides, isolates and
/// the implicit marks. A name never needs them; an attacker can use them to disguise text.
const BIDI_CONTROLS: &[char] = &[
    '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// Why a piece of display text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DisplayTextError {
    #[error("contains a control character (such as a line break or tab)")]
    Control,
    #[error(
        "contains a bidirectional formatting character (U+202A–U+202E, U+2066–U+2069 or a mark)"
    )]
    Bidi,
}

/// Accepts text fit to be shown as a name: any script, spaces, punctuation; no control or
/// bidirectional formatting characters, no byte-order mark.
pub fn check_display_text(text: &str) -> Result<(), DisplayTextError> {
    for c in text.chars() {
        if c.is_control() || c == '\u{FEFF}' {
            return Err(DisplayTextError::Control);
        }
        if BIDI_CONTROLS.contains(&c) {
            return Err(DisplayTextError::Bidi);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_script_are_accepted() {
        for name in [
            "Li Na",
            "李娜",
            "محمد الأحمد",
            "Ana-Lúcia O'Brien",
            "김민준",
            "Жанна",
        ] {
            assert_eq!(check_display_text(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        assert_eq!(check_display_text("Li\nNa"), Err(DisplayTextError::Control));
        assert_eq!(
            check_display_text("Li\u{7}Na"),
            Err(DisplayTextError::Control)
        );
        assert_eq!(
            check_display_text("\u{FEFF}Li"),
            Err(DisplayTextError::Control)
        );
        for c in BIDI_CONTROLS {
            let name = format!("Li{c}Na");
            assert_eq!(
                check_display_text(&name),
                Err(DisplayTextError::Bidi),
                "{c:?}"
            );
        }
    }
}
