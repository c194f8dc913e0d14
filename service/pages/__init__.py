"""The fact-checker's workspace: server-rendered pages under ``/ui/`` over the same domain code as the API."""
