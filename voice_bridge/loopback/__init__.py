"""The one local stand-in per protocol the bridge speaks: an OpenAI Realtime peer (`realtime_peer`) and a
Twilio Media Streams caller (`twilio_caller`), used by the simulated call, `bench.bridge` and the tests."""
