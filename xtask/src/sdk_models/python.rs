//! Python output: dataclasses with `from_dict`, enums as `Literal`s.

use std::fmt::Write as _;

use super::{Api, Field, Ty, HEADER, SECRET_FIELDS};

impl Api {
    pub(super) fn python(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "\"\"\"The API's schemas as dataclasses. Unknown fields of a response are kept in ``raw``.\n\n{HEADER}\n\"\"\"\n");
        o.push_str("from __future__ import annotations\n\n");
        o.push_str("from dataclasses import dataclass, field\nfrom datetime import datetime\n");
        o.push_str("from typing import Any, Dict, List, Literal, Mapping, Optional\n\n");
        o.push_str("from ._time import parse_datetime\n\n");
        let models: Vec<_> = self.models.iter().filter(|m| !m.request).collect();
        let names: Vec<_> =
            self.enums.iter().map(|e| e.name.as_str()).chain(models.iter().map(|m| m.name.as_str())).collect();
        let _ = writeln!(o, "__all__ = [\n{}]", names.iter().map(|n| format!("    \"{n}\",\n")).collect::<String>());
        for e in &self.enums {
            let values: Vec<_> = e.values.iter().map(|v| format!("{v:?}")).collect();
            let _ = writeln!(o, "\n{} = Literal[{}]", e.name, values.join(", "));
            let _ = writeln!(o, "\"\"\"{}\"\"\"", e.doc.replace('\n', " "));
        }
        for m in models {
            let _ =
                writeln!(o, "\n\n@dataclass\nclass {}:\n    \"\"\"{}\"\"\"\n", m.name, m.doc.replace('\n', "\n    "));
            // `id` first and without a default: a resource is its id; the rest default.
            let mut fields: Vec<&Field> = m.fields.iter().filter(|f| f.name == "id").collect();
            fields.extend(m.fields.iter().filter(|f| f.name != "id"));
            for f in &fields {
                let _ = writeln!(o, "    {}: {}", f.name, py_annotation(f));
            }
            o.push_str("    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)\n");
            let _ = writeln!(o, "\n    @classmethod\n    def from_dict(cls, d: Mapping[str, Any]) -> \"{}\":", m.name);
            o.push_str("        return cls(\n");
            for f in &fields {
                let _ = writeln!(o, "            {}={},", f.name, py_parse(f));
            }
            let secrets: Vec<_> = m
                .fields
                .iter()
                .filter(|f| SECRET_FIELDS.contains(&f.name.as_str()))
                .map(|f| format!("{:?}", f.name))
                .collect();
            if secrets.is_empty() {
                o.push_str("            raw=dict(d),\n");
            } else {
                let _ = writeln!(
                    o,
                    "            raw={{k: v for k, v in d.items() if k not in ({},)}},",
                    secrets.join(", ")
                );
            }
            o.push_str("        )\n");
        }
        o
    }
}

fn py_type(ty: &Ty) -> String {
    match ty {
        Ty::Str | Ty::Enum(_) => "str".into(),
        Ty::DateTime => "datetime".into(),
        Ty::Int { .. } => "int".into(),
        Ty::Float => "float".into(),
        Ty::Bool => "bool".into(),
        Ty::Json => "Dict[str, Any]".into(),
        Ty::Array(inner) => format!("List[{}]", py_type(inner)),
        Ty::Model(n) => n.clone(),
    }
}

fn py_annotation(f: &Field) -> String {
    let t = py_type(&f.ty);
    if f.name == "id" {
        return t;
    }
    if SECRET_FIELDS.contains(&f.name.as_str()) {
        return format!("Optional[{t}] = field(default=None, repr=False)");
    }
    let optional = f.nullable || !f.required;
    match &f.ty {
        Ty::Array(_) => format!("{t} = field(default_factory=list)"),
        Ty::Json => format!("{t} = field(default_factory=dict)"),
        Ty::Model(n) if !optional => format!("{t} = field(default_factory={n})"),
        Ty::Str | Ty::Enum(_) if !optional => format!("{t} = \"\""),
        Ty::Int { .. } if !optional => format!("{t} = 0"),
        Ty::Float if !optional => format!("{t} = 0.0"),
        Ty::Bool if !optional => format!("{t} = False"),
        _ => format!("Optional[{t}] = None"),
    }
}

fn py_parse(f: &Field) -> String {
    let k = format!("{:?}", f.name);
    if f.name == "id" {
        return format!("d[{k}]");
    }
    let optional = f.nullable || !f.required;
    match &f.ty {
        Ty::DateTime => format!("parse_datetime(d.get({k}))"),
        Ty::Array(inner) => match inner.as_ref() {
            Ty::Model(n) => format!("[{n}.from_dict(v) for v in d.get({k}) or []]"),
            _ => format!("list(d.get({k}) or [])"),
        },
        Ty::Json => format!("dict(d.get({k}) or {{}})"),
        Ty::Model(n) if optional => format!("{n}.from_dict(d[{k}]) if d.get({k}) is not None else None"),
        Ty::Model(n) => format!("{n}.from_dict(d.get({k}) or {{}})"),
        _ if optional || SECRET_FIELDS.contains(&f.name.as_str()) => format!("d.get({k})"),
        Ty::Int { .. } => format!("int(d.get({k}) or 0)"),
        Ty::Float => format!("float(d.get({k}) or 0.0)"),
        Ty::Bool => format!("bool(d.get({k}, False))"),
        _ => format!("d.get({k}, \"\")"),
    }
}
