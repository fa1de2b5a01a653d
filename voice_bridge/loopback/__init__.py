"""The one local stand-in per protocol the bridge speaks: an OpenAI Realtime peer (`realtime_peer`, its
connections in `realtime_session`, their replies in `realtime_responses` and their sending half in
`realtime_connection`) and a Twilio Media Streams caller (`twilio_caller`), both following a `script`; used by
the simulated call, `bench.bridge` and the tests."""
