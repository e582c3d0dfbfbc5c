# The officer's web console, English (the fallback for a missing key at run time; a test
# fails if any key is missing in any language).

console-name = hanoinet console
sign-in-title = Sign in
sign-in-username = Username
sign-in-password = Password
sign-in-code = Six-digit code from your authenticator app
sign-in-submit = Sign in
sign-in-wrong = Wrong username, password or code.
sign-in-too-many = Too many failed attempts. Try again in { $seconds } seconds.
sign-in-code-used = That code was already used. Wait for the next one.
sign-out = Sign out
signed-out = You are signed out.
session-ended = Your session ended. Sign in again.
language = Language
inbox-title = 24/7 inbox
outgoing-title = Outgoing requests
col-request = Request
col-type = Type
col-from = From
col-urgency = Urgency
col-status = Status
col-ack-due = Acknowledgement due
inbox-empty = No incoming request.
not-for-role = Your role does not open case content. The inbox is for officers and supervisors.
