"""The web console's pages: one module per page (`dash.register_page`), layout functions and thin
callbacks; logic in pure view and figure functions (`dashboards/views/`), data through
`dashboards.queries.current()`."""
