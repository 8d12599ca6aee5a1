export TIMESTEP_INBOX_USERS="alice:$(cat alice.token),bob:$(cat bob.token)"
timestep serve --agent myapp.agents:support --port 0     # a free port (it prints the URL); until Ctrl+C
