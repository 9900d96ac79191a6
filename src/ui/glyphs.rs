//! Text no installed font can draw. egui asks its font providers for a
//! character no loaded font has (eframe's system-font provider first); this
//! one comes last, so what reaches it will be drawn as empty boxes. It notes
//! the character, and the window says once per script which script it is
//! and which Debian package draws it, instead of silent boxes.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The last font provider: finds nothing, remembers what was missing.
#[derive(Default)]
pub struct MissingGlyphs {
    missing: Mutex<Vec<char>>,
}

impl egui::FontProvider for MissingGlyphs {
    fn font_for(&self, request: &egui::FallbackRequest<'_>) -> Option<egui::FontInsert> {
        if let Some(c) = request.cluster.chars().next()
            && let Ok(mut missing) = self.missing.lock()
        {
            missing.push(c);
        }
        None
    }
}

/// The window's side: which scripts it already told about.
pub struct GlyphWatch {
    provider: Arc<MissingGlyphs>,
    told: BTreeSet<&'static str>,
}

impl GlyphWatch {
    /// Installs the provider after the ones already there (eframe's system
    /// fonts).
    pub fn install(ctx: &egui::Context) -> GlyphWatch {
        let provider = Arc::new(MissingGlyphs::default());
        ctx.add_font_provider(provider.clone());
        GlyphWatch {
            provider,
            told: BTreeSet::new(),
        }
    }

    /// A sentence for the scripts newly found missing since the last call,
    /// once each; `None` when there is nothing new to say.
    pub fn news(&mut self) -> Option<String> {
        let chars: Vec<char> = match self.provider.missing.lock() {
            Ok(mut m) if !m.is_empty() => std::mem::take(&mut *m),
            _ => return None,
        };
        let mut new: Vec<(&'static str, &'static str)> = Vec::new();
        for c in chars {
            let (script, package) = script_of(c);
            if self.told.insert(script) {
                new.push((script, package));
            }
        }
        if new.is_empty() {
            return None;
        }
        let scripts: Vec<&str> = new.iter().map(|(s, _)| *s).collect();
        let mut packages: Vec<&str> = new.iter().map(|(_, p)| *p).collect();
        packages.dedup();
        Some(format!(
            "Some text is in {}, which no installed font can draw: it shows as empty boxes. \
             Install a font for it (on Debian/Ubuntu: sudo apt install {}) and restart Postscope",
            scripts.join(", "),
            packages.join(" ")
        ))
    }
}

/// The script of a character and the Debian package whose fonts draw it.
pub fn script_of(c: char) -> (&'static str, &'static str) {
    const CJK: &str = "fonts-noto-cjk";
    const CORE: &str = "fonts-noto-core";
    match u32::from(c) {
        0x0590..=0x05FF => ("Hebrew", CORE),
        0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => ("Arabic", CORE),
        0x0900..=0x097F => ("Devanagari", CORE),
        0x0980..=0x09FF => ("Bengali", CORE),
        0x0A00..=0x0A7F => ("Gurmukhi", CORE),
        0x0A80..=0x0AFF => ("Gujarati", CORE),
        0x0B80..=0x0BFF => ("Tamil", CORE),
        0x0C00..=0x0C7F => ("Telugu", CORE),
        0x0C80..=0x0CFF => ("Kannada", CORE),
        0x0D00..=0x0D7F => ("Malayalam", CORE),
        0x0D80..=0x0DFF => ("Sinhala", CORE),
        0x0E00..=0x0E7F => ("Thai", CORE),
        0x0E80..=0x0EFF => ("Lao", CORE),
        0x10A0..=0x10FF => ("Georgian", CORE),
        0x1200..=0x139F => ("Ethiopic", CORE),
        0x1780..=0x17FF => ("Khmer", CORE),
        0x0530..=0x058F => ("Armenian", CORE),
        0x3040..=0x309F => ("Japanese (Hiragana)", CJK),
        0x30A0..=0x30FF => ("Japanese (Katakana)", CJK),
        0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => ("Korean (Hangul)", CJK),
        0x2E80..=0x2FDF
        | 0x3000..=0x303F
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xF900..=0xFAFF
        | 0x20000..=0x2FFFF => ("Chinese/Japanese (Han)", CJK),
        0x1F300..=0x1FAFF | 0x2600..=0x27BF => ("emoji", "fonts-noto-color-emoji"),
        _ => ("another script", "fonts-noto"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_name_their_package() {
        assert_eq!(script_of('क'), ("Devanagari", "fonts-noto-core"));
        assert_eq!(
            script_of('日'),
            ("Chinese/Japanese (Han)", "fonts-noto-cjk")
        );
        assert_eq!(script_of('ア').1, "fonts-noto-cjk");
        assert_eq!(script_of('한').0, "Korean (Hangul)");
        assert_eq!(script_of('ש').0, "Hebrew");
    }

    #[test]
    fn each_script_is_told_once() {
        let provider = Arc::new(MissingGlyphs::default());
        let mut watch = GlyphWatch {
            provider: provider.clone(),
            told: BTreeSet::new(),
        };
        assert_eq!(watch.news(), None);
        provider.missing.lock().unwrap().extend(['क', 'ख', '日']);
        let news = watch.news().unwrap();
        assert!(
            news.contains("Devanagari, Chinese/Japanese (Han)"),
            "{news}"
        );
        assert!(
            news.contains("sudo apt install fonts-noto-core fonts-noto-cjk"),
            "{news}"
        );
        provider.missing.lock().unwrap().push('ग');
        assert_eq!(watch.news(), None, "Devanagari was told already");
    }
}
