//! Script census of a text: how many letters of each writing system it holds, how many "words" it
//! is long (CJK counted as two characters a word), and letters that betray a language we do not
//! serve (Ukrainian і, Persian پ…). Pure character classification; no detector, no settings.

/// Letters counted per writing system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    pub latin: usize,
    pub cyrillic: usize,
    pub arabic: usize,
    pub hangul: usize,
    /// Hiragana and katakana: only Japanese uses them.
    pub kana: usize,
    /// Han ideographs: Chinese, and Japanese kanji.
    pub han: usize,
    pub other: usize,
    /// Cyrillic letters Russian does not use (Ukrainian і, Serbian ђ, Kazakh қ…).
    pub not_russian: usize,
    /// Arabic-script letters Arabic does not use (Persian پ, Urdu ٹ…).
    pub not_arabic: usize,
}

/// The writing system that decides which rule applies to a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dominant {
    /// No letters at all (digits, punctuation, emoji): nothing to detect.
    None,
    Latin,
    Cyrillic,
    Arabic,
    /// Any Hangul outweighing the rest: Korean.
    Hangul,
    /// Kana present among CJK characters: Japanese.
    Kana,
    /// Han ideographs without kana: Chinese or Japanese, undecidable from script alone.
    HanOnly,
    Other,
}

/// Average characters per word for scripts written without spaces (Chinese and Japanese words run
/// about 1.5–2 characters); the length rules count such text in these "words".
pub const CJK_CHARS_PER_WORD: usize = 2;

impl Census {
    pub fn of(text: &str) -> Self {
        let mut c = Census::default();
        for ch in text.chars() {
            if !ch.is_alphabetic() {
                continue;
            }
            match ch as u32 {
                0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9D => c.kana += 1,
                0x1100..=0x11FF
                | 0x3130..=0x318F
                | 0xA960..=0xA97F
                | 0xAC00..=0xD7AF
                | 0xD7B0..=0xD7FF => c.hangul += 1,
                0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F => {
                    c.han += 1
                }
                0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => {
                    c.cyrillic += 1;
                    if is_non_russian_cyrillic(ch) {
                        c.not_russian += 1;
                    }
                }
                0x0600..=0x06FF
                | 0x0750..=0x077F
                | 0x08A0..=0x08FF
                | 0xFB50..=0xFDFF
                | 0xFE70..=0xFEFF => {
                    c.arabic += 1;
                    if is_non_arabic_letter(ch) {
                        c.not_arabic += 1;
                    }
                }
                _ if ch.is_ascii_alphabetic() || ('\u{C0}'..='\u{24F}').contains(&ch) => {
                    c.latin += 1
                }
                _ => c.other += 1,
            }
        }
        c
    }

    pub fn letters(&self) -> usize {
        self.latin + self.cyrillic + self.arabic + self.hangul + self.kana + self.han + self.other
    }

    pub fn dominant(&self) -> Dominant {
        if self.letters() == 0 {
            return Dominant::None;
        }
        let cjk = self.kana + self.han;
        let rest = [
            (self.latin, Dominant::Latin),
            (self.cyrillic, Dominant::Cyrillic),
            (self.arabic, Dominant::Arabic),
            (self.other, Dominant::Other),
        ];
        let (best_rest, best_kind) = rest
            .iter()
            .copied()
            .max_by_key(|(n, _)| *n)
            .unwrap_or((0, Dominant::Other));
        // Hangul and CJK are compared by characters, the rest by letters: a Hangul syllable or an
        // ideograph carries what several Latin letters do, so they win at a third of the count.
        let weight = |n: usize| n * 3;
        if self.hangul > 0 && weight(self.hangul) >= best_rest && self.hangul >= cjk {
            Dominant::Hangul
        } else if cjk > 0 && weight(cjk) >= best_rest {
            if self.kana > 0 {
                Dominant::Kana
            } else {
                Dominant::HanOnly
            }
        } else if best_rest == 0 {
            Dominant::Other
        } else {
            best_kind
        }
    }
}

/// Cyrillic letters of Ukrainian, Belarusian, Serbian, Macedonian, Kazakh… that Russian lacks.
fn is_non_russian_cyrillic(ch: char) -> bool {
    matches!(
        ch,
        'і' | 'І'
            | 'ї'
            | 'Ї'
            | 'є'
            | 'Є'
            | 'ґ'
            | 'Ґ'
            | 'ў'
            | 'Ў'
            | 'ђ'
            | 'Ђ'
            | 'ј'
            | 'Ј'
            | 'љ'
            | 'Љ'
            | 'њ'
            | 'Њ'
            | 'ћ'
            | 'Ћ'
            | 'џ'
            | 'Џ'
            | 'ѓ'
            | 'ќ'
            | 'ѕ'
            | 'ә'
            | 'Ә'
            | 'ғ'
            | 'Ғ'
            | 'қ'
            | 'Қ'
            | 'ң'
            | 'Ң'
            | 'ө'
            | 'Ө'
            | 'ұ'
            | 'Ұ'
            | 'ү'
            | 'Ү'
            | 'һ'
            | 'Һ'
    )
}

/// Arabic-script letters of Persian, Urdu, Pashto, Kurdish… that Arabic does not use.
fn is_non_arabic_letter(ch: char) -> bool {
    matches!(
        ch,
        'پ' | 'چ'
            | 'ژ'
            | 'گ'
            | 'ک'
            | 'ی'
            | 'ٹ'
            | 'ڈ'
            | 'ڑ'
            | 'ں'
            | 'ے'
            | 'ھ'
            | 'ۆ'
            | 'ێ'
            | 'ڵ'
            | 'ڕ'
    )
}

/// Words in `text`: white-space separated tokens holding a letter or digit, where a token of Han
/// or kana characters counts one word per [`CJK_CHARS_PER_WORD`] characters (at least one).
pub fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .map(|token| {
            let cjk = token
                .chars()
                .filter(
                    |&ch| matches!(ch as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF),
                )
                .count();
            if cjk > 0 {
                cjk.div_ceil(CJK_CHARS_PER_WORD)
            } else {
                usize::from(token.chars().any(char::is_alphanumeric))
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangul_text_is_dominated_by_hangul_even_with_latin_brand_names() {
        assert_eq!(
            Census::of("KTX 표를 잃어버렸어요").dominant(),
            Dominant::Hangul
        );
    }

    #[test]
    fn kana_anywhere_among_ideographs_means_japanese() {
        assert_eq!(Census::of("東京駅はどこですか").dominant(), Dominant::Kana);
        assert_eq!(Census::of("東京駅").dominant(), Dominant::HanOnly);
    }

    #[test]
    fn ukrainian_letters_are_foreign_to_russian() {
        let uk = Census::of("Привіт, мені потрібна допомога");
        assert_eq!(uk.dominant(), Dominant::Cyrillic);
        assert!(uk.not_russian > 0);
        assert_eq!(Census::of("Мне нужна помощь").not_russian, 0);
    }

    #[test]
    fn persian_letters_are_foreign_to_arabic() {
        assert!(Census::of("من کمک می‌خواهم").not_arabic > 0);
        assert_eq!(Census::of("أحتاج إلى مساعدة").not_arabic, 0);
    }

    #[test]
    fn digits_and_punctuation_have_no_dominant_script() {
        assert_eq!(Census::of("12345 ?!").dominant(), Dominant::None);
    }

    #[test]
    fn cjk_is_counted_two_characters_a_word() {
        assert_eq!(word_count("我的护照丢了"), 3);
        assert_eq!(word_count("I lost my passport"), 4);
        assert_eq!(word_count("  ... 12 "), 1);
    }
}
