"""Pure view and figure functions of the web console: data in (from the `ConsoleData` facade),
components or figures out; no Dash callbacks, no requests, no clock. Tested without a browser."""
