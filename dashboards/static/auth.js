/* The login and account forms (dashboards/login_page.py): each is sent as a same-origin JSON
   request with the page's CSRF token; the server answers {"next": path} or {"error": text}. */
(function () {
    "use strict";
    const csrf = document.querySelector('meta[name="csrf-token"]').content;

    async function post(action, body) {
        const response = await fetch(action, {
            method: "POST",
            credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
            body: JSON.stringify(body)
        });
        let answer = {};
        try { answer = await response.json(); } catch (e) { answer = {}; }
        return {ok: response.ok, answer: answer};
    }

    const login = document.getElementById("login-form");
    if (login) {
        login.addEventListener("submit", async function (event) {
            event.preventDefault();
            const error = document.getElementById("login-error");
            const body = {
                name: document.getElementById("login-name").value,
                password: document.getElementById("login-password").value,
                code: document.getElementById("login-code").value,
                next: login.dataset.next
            };
            const result = await post(login.dataset.action, body);
            if (result.ok && result.answer.next) {
                window.location.assign(result.answer.next);
                return;
            }
            if (result.answer.totp) {
                document.getElementById("login-code-row").hidden = false;
                document.getElementById("login-code").focus();
            }
            error.textContent = result.answer.error || error.dataset.failed;
        });
    }

    const account = document.getElementById("account-form");
    if (account) {
        account.addEventListener("submit", async function (event) {
            event.preventDefault();
            const error = document.getElementById("account-error");
            const password = document.getElementById("account-new").value;
            if (password !== document.getElementById("account-again").value) {
                error.textContent = account.dataset.differ;
                return;
            }
            const body = {current: document.getElementById("account-current").value, password: password};
            const result = await post(account.dataset.action, body);
            if (result.ok) {
                error.textContent = account.dataset.done;
                window.setTimeout(function () { window.location.assign(result.answer.next || "/login"); }, 1500);
                return;
            }
            error.textContent = result.answer.error || "";
        });
    }
}());
