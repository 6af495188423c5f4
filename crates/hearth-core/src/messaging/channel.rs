use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A way to reach a patient. Consent is recorded per channel and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Whatsapp,
    Voice,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Sms, Channel::Whatsapp, Channel::Voice, Channel::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Voice => "voice",
            Channel::Email => "email",
        }
    }

    /// Whether the address is a phone number (E.164) rather than an e-mail address.
    pub fn uses_phone(self) -> bool {
        !matches!(self, Channel::Email)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `sms`, `whatsapp`, `voice`, `email`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected one of sms, whatsapp, voice, email")]
pub struct UnknownChannel;

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s).ok_or(UnknownChannel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_round_trips_through_its_name() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
        }
        assert_eq!("SMS".parse::<Channel>(), Err(UnknownChannel));
        assert_eq!("fax".parse::<Channel>(), Err(UnknownChannel));
    }
}
