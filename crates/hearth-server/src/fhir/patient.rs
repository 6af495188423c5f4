//! FHIR R4 Patient ⇄ Hearth patient record.
//!
//! Import keeps everything Hearth models and ignores the rest (photos, marital status, links to other
//! resources). Export writes every field Hearth holds. Errors found in Hearth's terms
//! (`phones[0].value`) are reported at the FHIR element they came from (`Patient.telecom[2].value`).

use hearth_fhir as fhir;

use crate::error::FieldError;
use crate::patients::{
    Address, ContactPoint, EmergencyContact, HumanName, Identifier, PatientRecord, PatientView,
};

/// A FHIR Patient in Hearth's terms, with where each part came from.
#[derive(Debug)]
pub struct ImportedPatient {
    pub record: PatientRecord,
    /// `Patient.active`; absent means active.
    pub active: bool,
    /// (Hearth path prefix, FHIR path prefix), to report errors at the FHIR element.
    paths: Vec<(String, String)>,
}

impl ImportedPatient {
    /// Renames the fields of Hearth errors to FHIR paths.
    pub fn fhir_errors(&self, errors: Vec<FieldError>) -> Vec<FieldError> {
        errors
            .into_iter()
            .map(|e| FieldError { field: fhir_error_path(&self.paths, &e.field), ..e })
            .collect()
    }
}

/// The FHIR path for a Hearth field path, by the longest matching prefix.
pub fn fhir_error_path(paths: &[(String, String)], field: &str) -> String {
    paths
        .iter()
        .filter(|(h, _)| {
            field == h || field.starts_with(&format!("{h}.")) || field.starts_with(&format!("{h}["))
        })
        .max_by_key(|(h, _)| h.len())
        .map_or_else(|| format!("Patient.{field}"), |(h, f)| format!("{f}{}", &field[h.len()..]))
}

fn nonblank(s: Option<&String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn name_from(n: &fhir::HumanName) -> HumanName {
    HumanName {
        use_: n.use_.clone(),
        family: nonblank(n.family.as_ref()).unwrap_or_default(),
        given: n.given.iter().filter(|g| !g.trim().is_empty()).cloned().collect(),
        prefix: n.prefix.iter().filter(|g| !g.trim().is_empty()).cloned().collect(),
        suffix: n.suffix.iter().filter(|g| !g.trim().is_empty()).cloned().collect(),
        text: nonblank(n.text.as_ref()),
    }
}

fn name_to(n: &HumanName) -> fhir::HumanName {
    fhir::HumanName {
        use_: n.use_.clone(),
        text: n.text.clone(),
        family: Some(n.family.clone()).filter(|f| !f.is_empty()),
        given: n.given.clone(),
        prefix: n.prefix.clone(),
        suffix: n.suffix.clone(),
    }
}

/// Reads a FHIR Patient. `mrn_system` marks the identifier that is Hearth's own MRN (a Patient that
/// Hearth exported and gets back).
pub fn from_fhir(p: &fhir::Patient, mrn_system: &str) -> ImportedPatient {
    let mut paths: Vec<(String, String)> = [
        ("birth_date", "Patient.birthDate"),
        ("deceased_date", "Patient.deceasedDateTime"),
        ("gender", "Patient.gender"),
        // Errors about a whole list (e.g. an identifier already taken) name the list.
        ("mrn", "Patient.identifier"),
        ("identifiers", "Patient.identifier"),
        ("phones", "Patient.telecom"),
        ("emails", "Patient.telecom"),
        ("name", "Patient.name"),
        ("addresses", "Patient.address"),
        ("emergency_contacts", "Patient.contact"),
        ("preferred_language", "Patient.communication"),
    ]
    .into_iter()
    .map(|(h, f)| (h.to_owned(), f.to_owned()))
    .collect();
    let mut record = PatientRecord {
        gender: p.gender.clone(),
        birth_date: p.birth_date.clone(),
        deceased: p.deceased_boolean.unwrap_or(false) || p.deceased_date_time.is_some(),
        // A dateTime's date part; a bad one is reported by validation at Patient.deceasedDateTime.
        deceased_date: p.deceased_date_time.as_ref().map(|d| d.chars().take(10).collect()),
        ..PatientRecord::default()
    };

    // The first official (else usual, else any) name is the name; the others are other names.
    let names: Vec<(usize, &fhir::HumanName)> = p
        .name
        .iter()
        .enumerate()
        .filter(|(_, n)| n.family.is_some() || !n.given.is_empty() || n.text.is_some())
        .collect();
    let primary = ["official", "usual"]
        .iter()
        .find_map(|u| names.iter().find(|(_, n)| n.use_.as_deref() == Some(u)))
        .or_else(|| names.first())
        .map(|(i, _)| *i);
    for (i, n) in &names {
        if Some(*i) == primary {
            record.name = name_from(n);
            paths.push(("name".to_owned(), format!("Patient.name[{i}]")));
        } else {
            paths.push((format!("other_names[{}]", record.other_names.len()), format!("Patient.name[{i}]")));
            record.other_names.push(name_from(n));
        }
    }

    for (i, t) in p.telecom.iter().enumerate() {
        let Some(value) = nonblank(t.value.as_ref()) else { continue };
        let point = ContactPoint { value, use_: t.use_.clone(), problem: None };
        match t.system.as_deref() {
            Some("phone" | "sms") => {
                paths.push((format!("phones[{}]", record.phones.len()), format!("Patient.telecom[{i}]")));
                record.phones.push(point);
            }
            Some("email") => {
                paths.push((format!("emails[{}]", record.emails.len()), format!("Patient.telecom[{i}]")));
                record.emails.push(point);
            }
            // fax, pager, url, other: not numbers Hearth can message.
            _ => {}
        }
    }

    for (i, a) in p.address.iter().enumerate() {
        let mut line: Vec<String> = a.line.iter().filter(|l| !l.trim().is_empty()).cloned().collect();
        if line.is_empty() && a.city.is_none() && a.postal_code.is_none() {
            // Only the text is known: keep it as the first line.
            line.extend(nonblank(a.text.as_ref()));
        }
        paths.push((format!("addresses[{}]", record.addresses.len()), format!("Patient.address[{i}]")));
        record.addresses.push(Address {
            line,
            city: nonblank(a.city.as_ref()),
            district: nonblank(a.district.as_ref()),
            state: nonblank(a.state.as_ref()),
            postal_code: nonblank(a.postal_code.as_ref()),
            country: nonblank(a.country.as_ref()),
            use_: a.use_.clone(),
        });
    }

    for (i, id) in p.identifier.iter().enumerate() {
        // An identifier without a value identifies nothing.
        let Some(value) = nonblank(id.value.as_ref()) else { continue };
        let system = nonblank(id.system.as_ref()).unwrap_or_default();
        if system == mrn_system {
            paths.push(("mrn".to_owned(), format!("Patient.identifier[{i}].value")));
            record.mrn = Some(value);
            continue;
        }
        paths
            .push((format!("identifiers[{}]", record.identifiers.len()), format!("Patient.identifier[{i}]")));
        record.identifiers.push(Identifier { system, value, sealed: None });
    }

    language_and_contacts(p, &mut record, &mut paths);

    ImportedPatient { record, active: p.active.unwrap_or(true), paths }
}

/// `communication` (the preferred language, else the first) and `contact` (people with a name).
fn language_and_contacts(p: &fhir::Patient, record: &mut PatientRecord, paths: &mut Vec<(String, String)>) {
    let languages: Vec<(usize, &fhir::PatientCommunication)> = p.communication.iter().enumerate().collect();
    if let Some((i, c)) =
        languages.iter().find(|(_, c)| c.preferred == Some(true)).or_else(|| languages.first())
    {
        let code = c
            .language
            .code_in(fhir::LANGUAGE_SYSTEM)
            .or_else(|| c.language.coding.iter().find_map(|c| c.code.as_deref()));
        if let Some(code) = code {
            paths.push(("preferred_language".to_owned(), format!("Patient.communication[{i}].language")));
            record.preferred_language = Some(code.to_owned());
        }
    }

    for (i, c) in p.contact.iter().enumerate() {
        // A contact without a person's name (an employer, say) is not an emergency contact.
        let Some(name) = c.name.as_ref().map(name_from).map(|n| n.display()).filter(|n| !n.is_empty()) else {
            continue;
        };
        paths.push((
            format!("emergency_contacts[{}]", record.emergency_contacts.len()),
            format!("Patient.contact[{i}]"),
        ));
        record.emergency_contacts.push(EmergencyContact {
            name,
            relationship: c.relationship.iter().find_map(fhir::CodeableConcept::label).map(str::to_owned),
            phone: c
                .telecom
                .iter()
                .find(|t| matches!(t.system.as_deref(), Some("phone" | "sms")))
                .and_then(|t| nonblank(t.value.as_ref())),
        });
    }
}

/// Writes a Hearth patient as FHIR. `base` is the FHIR base URL (for references).
pub fn to_fhir(v: &PatientView, mrn_system: &str) -> fhir::Patient {
    let r = &v.record;
    let mut identifier = vec![fhir::Identifier {
        use_: Some("usual".to_owned()),
        type_: Some(fhir::CodeableConcept {
            coding: vec![fhir::Coding {
                system: Some(fhir::IDENTIFIER_TYPE_SYSTEM.to_owned()),
                code: Some("MR".to_owned()),
                display: Some("Medical record number".to_owned()),
            }],
            text: None,
        }),
        system: Some(mrn_system.to_owned()),
        value: Some(v.mrn.clone()),
    }];
    identifier.extend(r.identifiers.iter().map(|i| fhir::Identifier {
        system: Some(i.system.clone()).filter(|s| !s.is_empty()),
        value: Some(i.value.clone()),
        ..fhir::Identifier::default()
    }));
    let point = |system: &str, c: &ContactPoint| fhir::ContactPoint {
        system: Some(system.to_owned()),
        value: Some(c.value.clone()),
        use_: c.use_.clone(),
        rank: None,
    };
    let names = std::iter::once(&r.name).chain(&r.other_names).filter(|n| !n.display().is_empty());
    fhir::Patient {
        id: Some(v.id.to_string()),
        meta: Some(fhir::Meta {
            version_id: Some(v.version.to_string()),
            last_updated: Some(v.updated_at.to_string()),
        }),
        identifier,
        active: Some(v.status == "active"),
        name: names.map(name_to).collect(),
        telecom: r
            .phones
            .iter()
            .map(|c| point("phone", c))
            .chain(r.emails.iter().map(|c| point("email", c)))
            .collect(),
        gender: r.gender.clone(),
        birth_date: r.birth_date.clone(),
        deceased_boolean: (r.deceased && r.deceased_date.is_none()).then_some(true),
        deceased_date_time: r.deceased_date.clone(),
        address: r
            .addresses
            .iter()
            .map(|a| fhir::Address {
                use_: a.use_.clone(),
                text: None,
                line: a.line.clone(),
                city: a.city.clone(),
                district: a.district.clone(),
                state: a.state.clone(),
                postal_code: a.postal_code.clone(),
                country: a.country.clone(),
            })
            .collect(),
        contact: r.emergency_contacts.iter().map(contact_to).collect(),
        communication: r
            .preferred_language
            .iter()
            .map(|l| fhir::PatientCommunication {
                language: fhir::CodeableConcept {
                    coding: vec![fhir::Coding {
                        system: Some(fhir::LANGUAGE_SYSTEM.to_owned()),
                        code: Some(l.clone()),
                        display: None,
                    }],
                    text: None,
                },
                preferred: Some(true),
            })
            .collect(),
        link: v
            .merged_into
            .iter()
            .map(|s| fhir::PatientLink {
                other: fhir::Reference { reference: Some(format!("Patient/{s}")), display: None },
                type_: "replaced-by".to_owned(),
            })
            .collect(),
        ..fhir::Patient::default()
    }
}

fn contact_to(c: &EmergencyContact) -> fhir::PatientContact {
    fhir::PatientContact {
        relationship: c
            .relationship
            .iter()
            .map(|t| fhir::CodeableConcept { coding: vec![], text: Some(t.clone()) })
            .collect(),
        name: Some(fhir::HumanName { text: Some(c.name.clone()), ..fhir::HumanName::default() }),
        telecom: c
            .phone
            .iter()
            .map(|p| fhir::ContactPoint {
                system: Some("phone".to_owned()),
                value: Some(p.clone()),
                ..fhir::ContactPoint::default()
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_renamed_to_the_fhir_element_they_came_from() {
        let paths = vec![
            ("phones[0]".to_owned(), "Patient.telecom[2]".to_owned()),
            ("name".to_owned(), "Patient.name[1]".to_owned()),
            ("birth_date".to_owned(), "Patient.birthDate".to_owned()),
        ];
        assert_eq!(fhir_error_path(&paths, "phones[0].value"), "Patient.telecom[2].value");
        assert_eq!(fhir_error_path(&paths, "name.family"), "Patient.name[1].family");
        assert_eq!(fhir_error_path(&paths, "birth_date"), "Patient.birthDate");
        assert_eq!(fhir_error_path(&paths, "names_other"), "Patient.names_other");
    }
}
