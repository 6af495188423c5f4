//! HL7 v2 for Hearth (placeholder until the HL7 capability lands).
