//! Rust output: structs with serde derives; enums read as `String`.

use std::fmt::Write as _;

use super::{doc_lines, Api, Ty, HEADER};

impl Api {
    fn enum_values(&self, name: &str) -> Option<&[String]> {
        self.enums.iter().find(|e| e.name == name).map(|e| e.values.as_slice())
    }

    pub(super) fn rust(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "//! The API's schemas as Rust types.\n//!\n//! {HEADER}\n");
        o.push_str("use chrono::{DateTime, Utc};\nuse serde::{Deserialize, Serialize};\nuse serde_json::Value;\n");
        for m in &self.models {
            o.push('\n');
            for line in doc_lines(&m.doc) {
                let _ = writeln!(o, "///{}{line}", if line.is_empty() { "" } else { " " });
            }
            let copy = m.fields.iter().all(|f| matches!(f.ty, Ty::Int { .. } | Ty::Float | Ty::Bool));
            let derives = if m.request {
                "Debug, Clone, Default, PartialEq, Serialize"
            } else if copy {
                "Debug, Clone, Copy, PartialEq, Serialize, Deserialize"
            } else {
                "Debug, Clone, PartialEq, Serialize, Deserialize"
            };
            let _ = writeln!(o, "#[derive({derives})]\npub struct {} {{", m.name);
            // A PATCH body tells "leave alone" (absent) from "clear" (null).
            let patch = m.request && m.name.starts_with("Update");
            for f in &m.fields {
                for line in doc_lines(&f.doc) {
                    let _ = writeln!(o, "    ///{}{line}", if line.is_empty() { "" } else { " " });
                }
                if let Some(values) = enum_of(&f.ty).and_then(|e| self.enum_values(e)) {
                    let list: Vec<_> = values.iter().map(|v| format!("`{v}`")).collect();
                    let _ = writeln!(o, "    ///\n    /// One of {}.", list.join(", "));
                }
                let base = rust_type(&f.ty);
                let (ty, skip) = match (f.required, f.nullable) {
                    (true, false) => (base, false),
                    (true, true) => (format!("Option<{base}>"), false),
                    (false, true) if patch => (format!("Option<Option<{base}>>"), true),
                    (false, _) => (format!("Option<{base}>"), true),
                };
                let (ident, rename) = rust_ident(&f.name);
                let mut attrs = Vec::new();
                if let Some(r) = rename {
                    attrs.push(format!("rename = \"{r}\""));
                }
                if skip && !m.request {
                    attrs.push("default".to_owned());
                }
                if skip {
                    attrs.push("skip_serializing_if = \"Option::is_none\"".to_owned());
                }
                if !attrs.is_empty() {
                    let _ = writeln!(o, "    #[serde({})]", attrs.join(", "));
                }
                let _ = writeln!(o, "    pub {ident}: {ty},");
            }
            o.push_str("}\n");
        }
        o
    }
}

fn enum_of(ty: &Ty) -> Option<&str> {
    match ty {
        Ty::Enum(e) => Some(e),
        Ty::Array(inner) => enum_of(inner),
        _ => None,
    }
}

fn rust_type(ty: &Ty) -> String {
    match ty {
        Ty::Str | Ty::Enum(_) => "String".into(),
        Ty::DateTime => "DateTime<Utc>".into(),
        Ty::Int { wide, unsigned } => format!("{}{}", if *unsigned { "u" } else { "i" }, if *wide { 64 } else { 32 }),
        Ty::Float => "f64".into(),
        Ty::Bool => "bool".into(),
        Ty::Json => "Value".into(),
        Ty::Array(inner) => format!("Vec<{}>", rust_type(inner)),
        Ty::Model(n) => n.clone(),
    }
}

/// A field's Rust name and, when it differs, the wire name (`type` reads as `kind`).
fn rust_ident(name: &str) -> (String, Option<&str>) {
    match name {
        "type" => ("kind".into(), Some(name)),
        "ref" | "match" | "fn" | "mod" | "use" | "impl" | "self" | "crate" | "move" | "loop" => {
            (format!("r#{name}"), None)
        }
        _ => (name.to_owned(), None),
    }
}
