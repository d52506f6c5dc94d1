//! Language tags as browsers send them (`navigator.languages`, `Accept-Language`): q-values,
//! regional and script subtags, and the mapping of a tag to a configured language. Only mappings
//! that are sound are made: a region or script variant (pt-BR, en-GB, zh-Hant) or a code for the
//! same language (por, cmn); a different language (uk for ru, gl for pt) stays unknown.

use crate::domain::Language;

/// Individual languages whose macrolanguage has the two-letter code we configure.
const MACROLANGUAGE_MEMBERS: &[(&str, &str)] = &[("cmn", "zh"), ("arb", "ar")];

/// One entry of a browser's language list, in the browser's order of preference.
#[derive(Debug, Clone, PartialEq)]
pub struct Preference {
    /// The language the tag names (its primary subtag), configured or not.
    pub language: Language,
    /// The `q` weight, 1.0 when absent.
    pub q: f64,
}

/// The language a BCP 47 tag (`pt-BR`, `zh_Hant_TW`, `por`) names, whether configured or not;
/// `None` for what names no language (`*`, `x-private`, garbage).
pub fn primary_language(tag: &str) -> Option<Language> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    match primary.len() {
        2 => Language::parse(&primary).ok(),
        3 => MACROLANGUAGE_MEMBERS
            .iter()
            .find(|(code, _)| *code == primary)
            .map(|(_, two)| *two)
            .or_else(|| isolang::Language::from_639_3(&primary).and_then(|l| l.to_639_1()))
            .and_then(|two| Language::parse(two).ok()),
        _ => None,
    }
}

/// The configured language a tag maps to, if the mapping is sound (see the module comment).
pub fn nearest_configured(tag: &str, configured: &[Language]) -> Option<Language> {
    primary_language(tag).filter(|l| configured.contains(l))
}

/// Parses browser language entries, each a tag with an optional `;q=` (or a whole comma-separated
/// `Accept-Language` value), into preferences ordered by q (highest first, stable), one per
/// language (its highest q). Entries that name no language, or with q = 0 or an unreadable q,
/// are skipped: browsers' lists are advice, never a reason to refuse a caller.
pub fn parse_preferences<S: AsRef<str>>(entries: &[S]) -> Vec<Preference> {
    let mut prefs: Vec<Preference> = Vec::new();
    for item in entries.iter().flat_map(|e| e.as_ref().split(',')) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("");
        let mut q = Some(1.0);
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q));
                }
            }
        }
        let (Some(language), Some(q)) = (primary_language(tag), q) else {
            continue;
        };
        if q == 0.0 {
            continue;
        }
        match prefs.iter_mut().find(|p| p.language == language) {
            Some(p) => p.q = p.q.max(q),
            None => prefs.push(Preference { language, q }),
        }
    }
    // Stable: equal q keeps the browser's order.
    prefs.sort_by(|a, b| b.q.total_cmp(&a.q));
    prefs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(s: &str) -> Language {
        Language::parse(s).expect("code")
    }

    #[test]
    fn regional_and_script_variants_map_to_their_language() {
        let configured = [lang("pt"), lang("en"), lang("zh")];
        assert_eq!(nearest_configured("pt-BR", &configured), Some(lang("pt")));
        assert_eq!(nearest_configured("en_GB", &configured), Some(lang("en")));
        assert_eq!(
            nearest_configured("zh-Hant-TW", &configured),
            Some(lang("zh"))
        );
        assert_eq!(nearest_configured("cmn", &configured), Some(lang("zh")));
        assert_eq!(nearest_configured("por", &configured), Some(lang("pt")));
    }

    #[test]
    fn a_different_language_is_never_mapped_to_a_neighbour() {
        let configured = [lang("ru"), lang("pt"), lang("es")];
        assert_eq!(nearest_configured("uk-UA", &configured), None);
        assert_eq!(nearest_configured("gl", &configured), None);
        assert_eq!(nearest_configured("ca-ES", &configured), None);
        assert_eq!(nearest_configured("*", &configured), None);
        assert_eq!(nearest_configured("x-klingon", &configured), None);
    }

    #[test]
    fn q_values_order_the_preferences_and_ties_keep_the_browsers_order() {
        let p = parse_preferences(&["de;q=0.5", "fr-CH, fr;q=0.9, en;q=0.8", "it"]);
        let order: Vec<(String, f64)> = p.iter().map(|p| (p.language.to_string(), p.q)).collect();
        assert_eq!(
            order,
            vec![
                ("fr".into(), 1.0),
                ("it".into(), 1.0),
                ("en".into(), 0.8),
                ("de".into(), 0.5)
            ]
        );
    }

    #[test]
    fn q_zero_and_unreadable_q_are_skipped() {
        let p = parse_preferences(&["es;q=0", "pt;q=high", "en;q=1.5", "ko;Q=0.3"]);
        assert_eq!(
            p,
            vec![Preference {
                language: lang("ko"),
                q: 0.3
            }]
        );
    }
}
