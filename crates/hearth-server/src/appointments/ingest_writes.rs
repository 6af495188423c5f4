//! The writes of one ingest request, held back and written together: new patients (with their keys,
//! audit and lifecycle events), appointments, their history rows and the reminder scheduler's work,
//! each table in a few multi-row statements instead of a statement per event. Written parents
//! first (patients, appointments, history, work) when the request ends — inside the request's
//! savepoint, so a failing request still leaves nothing behind — or earlier, whenever the request
//! is about to read or write through a path that expects them in the database (a consent event, a
//! survey invitation).

use std::collections::HashMap;

use hearth_core::AppointmentId;
use hearth_store::Tx;
use hearth_store::appointments::{AppointmentEventRow, AppointmentRow};
use hearth_store::reminders::WorkRow;

use crate::auth::Actor;
use crate::error::AppError;
use crate::patients::{self, NewPatient};
use crate::state::AppState;

#[derive(Default)]
pub(super) struct Pending {
    patients: Vec<NewPatient>,
    /// The latest state of each appointment saved (a request may book and then confirm one).
    appointments: Vec<AppointmentRow>,
    appointment_at: HashMap<AppointmentId, usize>,
    events: Vec<AppointmentEventRow>,
    work: Vec<WorkRow>,
}

impl Pending {
    pub fn patient(&mut self, p: NewPatient) {
        self.patients.push(p);
    }

    /// Saves (inserts or replaces) an appointment.
    pub fn appointment(&mut self, row: AppointmentRow) {
        if let Some(&i) = self.appointment_at.get(&row.id) {
            self.appointments[i] = row;
        } else {
            self.appointment_at.insert(row.id, self.appointments.len());
            self.appointments.push(row);
        }
    }

    pub fn event(&mut self, row: AppointmentEventRow) {
        self.events.push(row);
    }

    pub fn work(&mut self, row: WorkRow) {
        self.work.push(row);
    }

    /// Writes everything held, parents before children.
    pub async fn flush(&mut self, tx: &mut Tx, app: &AppState, actor: &Actor) -> Result<(), AppError> {
        let Self { patients, appointments, appointment_at, events, work } = std::mem::take(self);
        drop(appointment_at);
        patients::insert_new(tx, app, actor, patients).await?;
        tx.save_appointments(&appointments).await?;
        tx.insert_appointment_events(&events).await?;
        tx.queue_outreach_many(&work).await?;
        Ok(())
    }
}
