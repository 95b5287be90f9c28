//! TypeScript output: camelCase interfaces, enums as open unions.

use std::fmt::Write as _;

use super::{camel, Api, Ty, HEADER};

impl Api {
    pub(super) fn typescript(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "/**\n * The API's schemas as TypeScript types: the server's snake_case fields in camelCase,\n * timestamps as RFC 3339 strings. Enums are open (`| (string & {{}})`) so a value a newer\n * server adds still type-checks.\n *\n * {HEADER}\n */"
        );
        for e in &self.enums {
            let _ = writeln!(o, "\n/** {} */", e.doc.replace('\n', " "));
            let values: String = e.values.iter().map(|v| format!("\n  | '{v}'")).collect();
            let _ = writeln!(o, "export type {} ={values}\n  | (string & {{}});", e.name);
        }
        for m in &self.models {
            let _ = writeln!(o, "\n/** {} */\nexport interface {} {{", m.doc.replace('\n', " "), m.name);
            for f in &m.fields {
                let _ = writeln!(o, "  /** {} */", f.doc.replace('\n', " "));
                let t = ts_type(&f.ty);
                let t = if f.nullable { format!("{t} | null") } else { t };
                let _ = writeln!(o, "  {}{}: {t};", camel(&f.name), if f.required { "" } else { "?" });
            }
            o.push_str("}\n");
        }
        o
    }
}

fn ts_type(ty: &Ty) -> String {
    match ty {
        Ty::Str | Ty::DateTime => "string".into(),
        Ty::Int { .. } | Ty::Float => "number".into(),
        Ty::Bool => "boolean".into(),
        Ty::Json => "Record<string, unknown>".into(),
        Ty::Array(inner) => format!("{}[]", ts_type(inner)),
        Ty::Model(n) | Ty::Enum(n) => n.clone(),
    }
}
