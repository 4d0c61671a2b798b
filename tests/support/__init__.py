"""Helpers shared by the test suites, each written once (fixtures live in the conftests).

- ``waits``: the library's retry waits, throttle pauses and clock, recorded instead of taken.
- ``clients``: one core-client method run the same way through the sync and the async client.
- ``mock_transport``: the unit suite's ``httpx.MockTransport`` handler and runner.
- ``emulator``: the contract suite's emulator runner, clean-up and connection keywords.
- ``env``: the environment variables that decide where requests go.
- ``tools``: the LangChain tool the chat suites (contract, cassettes, live) call.
"""
