/* The shell's "log out" button (dashboards/app.py): ends the session on the server with a
   same-origin JSON request carrying the CSRF token, forgets what the pages kept in the browser,
   and goes to the login page. */
document.addEventListener("click", async function (event) {
    const button = event.target.closest ? event.target.closest("#logout") : null;
    if (!button) {
        return;
    }
    event.preventDefault();
    const match = document.cookie.match(/(?:^|;\s*)_csrf_token=([^;]*)/);
    try {
        await fetch("/logout", {
            method: "POST",
            credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": match ? decodeURIComponent(match[1]) : ""},
            body: "{}"
        });
    } finally {
        window.localStorage.clear();
        window.sessionStorage.clear();
        window.location.assign("/login");
    }
});
