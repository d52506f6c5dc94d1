use super::*;

fn settings() -> Settings {
    Settings::load_with_env(None, Vec::new()).expect("defaults")
}

#[test]
fn the_assessment_names_its_source_and_combines_agreeing_signals() {
    let s = settings();
    let pick = lang::Signals {
        chosen: Language::parse("ar").ok(),
        ..Default::default()
    };
    let v = assess_language(&pick, &s);
    assert_eq!(v.code.map(|l| l.to_string()), Some("ar".into()));
    assert_eq!(v.source, LanguageSource::Chosen);
    let browser = lang::Signals {
        browser_languages: vec!["sv-SE".into(), "pt-BR;q=0.8".into()],
        ..Default::default()
    };
    let v = assess_language(&browser, &s);
    assert_eq!(v.code.map(|l| l.to_string()), Some("pt".into()));
    assert_eq!(v.source, LanguageSource::Browser);
    let both = lang::Signals {
        chosen: Language::parse("pt").ok(),
        browser_languages: vec!["pt-BR".into()],
        ..Default::default()
    };
    assert_eq!(assess_language(&both, &s).source, LanguageSource::Combined);
    assert_eq!(
        assess_language(&lang::Signals::default(), &s).source,
        LanguageSource::Unknown
    );
}
