use hearth_core::MessageId;

use super::*;

fn twilio(tweak: impl FnOnce(&mut TwilioConfig)) -> Twilio {
    let mut c = TwilioConfig {
        account_sid: Some("AC00000000000000000000000000000000".into()),
        auth_token: Some(Secret::new("token")),
        sms_from: Some("+15005550006".into()),
        whatsapp_from: Some("+14155238886".into()),
        voice_from: Some("+15005550006".into()),
        ..TwilioConfig::default()
    };
    tweak(&mut c);
    Twilio::new(reqwest::Client::new(), &c, "https://hearth.example.org/").unwrap()
}

fn msg(channel: Channel, to: &str) -> Outgoing {
    Outgoing {
        message_id: MessageId::new(),
        channel,
        to: to.into(),
        from: None,
        subject: None,
        body: "Your visit is on Monday at 9:00 & bring <ID>".into(),
        language: "es".into(),
        validity: Some(Duration::from_hours(1)),
    }
}

fn field<'a>(form: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
}

#[test]
fn an_sms_form_has_every_field_twilio_needs() {
    let m = msg(Channel::Sms, "+15551230000");
    let (url, form) = twilio(|_| {}).request(&m).unwrap();
    assert_eq!(
        url,
        "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"
    );
    assert_eq!(field(&form, "To"), Some("+15551230000"));
    assert_eq!(field(&form, "From"), Some("+15005550006"));
    assert_eq!(field(&form, "Body"), Some(m.body.as_str()));
    assert_eq!(field(&form, "ValidityPeriod"), Some("3600"));
    let callback = format!("https://hearth.example.org/hooks/twilio/status?message_id={}", m.message_id);
    assert_eq!(field(&form, "StatusCallback"), Some(callback.as_str()));
}

#[test]
fn a_messaging_service_replaces_the_configured_sender() {
    let t = twilio(|c| c.messaging_service_sid = Some("MG123".into()));
    let (_, form) = t.request(&msg(Channel::Sms, "+15551230000")).unwrap();
    assert_eq!((field(&form, "MessagingServiceSid"), field(&form, "From")), (Some("MG123"), None));
    let mut m = msg(Channel::Sms, "+15551230000");
    m.from = Some("+15550000001".into());
    let (_, form) = t.request(&m).unwrap();
    assert_eq!((field(&form, "MessagingServiceSid"), field(&form, "From")), (None, Some("+15550000001")));
}

#[test]
fn whatsapp_addresses_carry_the_prefix() {
    let t = twilio(|_| {});
    for to in ["+34600111222", "whatsapp:+34600111222"] {
        let (_, form) = t.request(&msg(Channel::Whatsapp, to)).unwrap();
        assert_eq!(field(&form, "To"), Some("whatsapp:+34600111222"));
        assert_eq!(field(&form, "From"), Some("whatsapp:+14155238886"));
    }
}

#[test]
fn addresses_a_channel_cannot_take_are_rejected_by_field() {
    let t = twilio(|_| {});
    for (channel, to) in [
        (Channel::Sms, "555-1234"),
        (Channel::Sms, "whatsapp:+15551230000"),
        (Channel::Sms, "jane@example.org"),
        (Channel::Whatsapp, "whatsapp:15551230000"),
        (Channel::Voice, ""),
    ] {
        match t.request(&msg(channel, to)) {
            Err(SendOutcome::Rejected { code, reason }) => {
                assert_eq!(code.as_deref(), Some("invalid_address"));
                assert!(reason.starts_with("to: expected"), "{reason}");
                assert!(to.is_empty() || !reason.contains(to), "the reason must not echo the address");
            }
            other => panic!("{channel} {to}: {other:?}"),
        }
    }
    let Err(SendOutcome::Rejected { reason, .. }) = t.request(&msg(Channel::Email, "jane@example.org"))
    else {
        panic!("email through twilio")
    };
    assert!(reason.starts_with("channel:"), "{reason}");
    let none = twilio(|c| c.sms_from = None);
    let Err(SendOutcome::Rejected { reason, .. }) = none.request(&msg(Channel::Sms, "+15551230000")) else {
        panic!("no sender")
    };
    assert!(reason.contains("providers.twilio.sms_from"), "{reason}");
    let mut expired = msg(Channel::Sms, "+15551230000");
    expired.validity = Some(Duration::ZERO);
    assert!(
        matches!(t.request(&expired), Err(SendOutcome::Rejected { code: Some(c), .. }) if c == "expired")
    );
}

#[test]
fn voice_reads_the_escaped_text_in_the_patients_language() {
    let m = msg(Channel::Voice, "+15551230000");
    let (url, form) = twilio(|_| {}).request(&m).unwrap();
    assert!(url.ends_with("/Calls.json"), "{url}");
    assert_eq!(
        field(&form, "Twiml"),
        Some(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"es-MX\">Your visit is on \
             Monday at 9:00 &amp; bring &lt;ID&gt;</Say></Response>"
        )
    );
    assert_eq!(voice_language("en"), "en-US");
    assert_eq!(voice_language("ar"), "ar-XA");
    assert_eq!(voice_language("en-GB"), "en-GB");
    assert_eq!(voice_language("\"><x"), "en-US");
    assert_eq!(xml_escape("a\u{1}b'\""), "ab&apos;&quot;");
}

#[test]
fn an_api_key_replaces_the_account_credentials() {
    let t = twilio(|c| {
        c.api_key_sid = Some("SK1".into());
        c.api_key_secret = Some(Secret::new("s"));
    });
    assert_eq!((t.user.as_str(), t.password.expose()), ("SK1", "s"));
    assert_eq!(twilio(|_| {}).user, "AC00000000000000000000000000000000");
}

#[test]
fn twilio_statuses_never_map_below_sent() {
    for s in ["queued", "accepted", "scheduled", "sending", "sent"] {
        assert_eq!(status_of(s), Some(MessageStatus::Sent), "{s}");
    }
    assert_eq!(status_of("delivered"), Some(MessageStatus::Delivered));
    assert_eq!(status_of("read"), Some(MessageStatus::Delivered));
    assert_eq!(status_of("undelivered"), Some(MessageStatus::Undelivered));
    assert_eq!(status_of("failed"), Some(MessageStatus::Failed));
    assert_eq!(status_of("canceled"), Some(MessageStatus::Canceled));
    assert_eq!(status_of("no-answer"), Some(MessageStatus::Undelivered));
    assert_eq!(status_of("partially_delivered"), None);
}
