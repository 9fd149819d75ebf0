"""The translations the page scripts (frontend/src/ui/) need, as one JSON catalogue.

The scripts look messages up by their English text (``t('Choose one option.')``) and API errors by
their code. Both lists live here, marked with ``gettext_noop`` (spelled out: ``makemessages`` knows no alias) so that ``make messages`` extracts
them into the ordinary ``django`` domain; a page renders the catalogue of the request's language
into a ``data-i18n`` attribute (no inline script, no JavaScriptCatalog request).

tests/pages/test_js_messages.py checks that every message the scripts use is listed, and that every
error code the API can return (``ApplicationError`` subclasses and config/api_errors.py) has a
sentence: voters never see a code.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext, gettext_noop

#: Messages of frontend/src/ui/*.mjs, by their English text (python-format placeholders).
MESSAGES = (
    # choices.mjs: rules and live state of a question
    gettext_noop("Choose one option."),
    gettext_noop("Choose one option, or vote blank."),
    gettext_noop("Choose exactly %(n)s."),
    gettext_noop("Choose as many as you like, or none."),
    gettext_noop("Choose at most %(max)s."),
    gettext_noop("Choose at least %(min)s."),
    gettext_noop("Choose between %(min)s and %(max)s."),
    gettext_noop("The projects you choose may cost %(budget)s in total at most."),
    gettext_noop("Choose an option."),
    gettext_noop("Too few choices: choose at least %(min)s."),
    gettext_noop("Too many choices: choose at most %(max)s."),
    gettext_noop("Over budget by %(over)s: remove a project."),
    gettext_noop("No choice yet: this is a blank vote."),
    gettext_noop("No choice yet."),
    gettext_noop("1 chosen."),
    gettext_noop("%(count)s chosen."),
    gettext_noop("Spent %(spent)s of %(budget)s; %(left)s left."),
    gettext_noop("Spent %(spent)s of %(budget)s."),
    gettext_noop("Blank vote (no choice)"),
    # choices.mjs: score questions
    gettext_noop("Give each option a score from 0 to %(s)s."),
    gettext_noop("Your scores must add up to at least %(min)s."),
    gettext_noop("Your scores may add up to %(max)s at most."),
    gettext_noop("Each score is a whole number from 0 to %(s)s."),
    gettext_noop("Your scores add up to too little: give at least %(min)s in all."),
    gettext_noop("Your scores add up to too much: give at most %(max)s in all."),
    gettext_noop("Total of your scores: %(total)s."),
    gettext_noop("%(option)s: %(score)s"),
    # credential.mjs
    gettext_noop(
        "A credential has only digits and letters (never the letter U); hyphens and spaces are "
        "optional."
    ),
    gettext_noop("%(n)s of 20 characters."),
    gettext_noop("Too many characters: a credential has 20."),
    gettext_noop("This credential has a typing mistake: compare each character with your e-mail."),
    gettext_noop("The credential is well formed."),
    # booth-page.mjs
    gettext_noop("Something went wrong in this page. Reload it and try again."),
    gettext_noop("Something went wrong. Please try again in a moment."),
    gettext_noop("This browser lacks features the booth needs. Please use an up-to-date browser."),
    gettext_noop("Enter your e-mail address."),
    gettext_noop(
        "If you are on the voter roll, a code is on its way to %(address)s. It is valid for a few "
        "minutes and works once."
    ),
    gettext_noop("The code has 8 digits."),
    gettext_noop("You are logged out."),
    gettext_noop("Enter the credential from your e-mail."),
    gettext_noop("Some answers need a change"),
    gettext_noop("Preparing…"),
    gettext_noop("%(done)s of %(total)s proofs computed."),
    gettext_noop("These answers break a rule of the election: check each question."),
    gettext_noop(
        "Your ballot could not be encrypted in this browser. Reload the page and try again."
    ),
    gettext_noop("Sending your ballot…"),
    gettext_noop("The server did not answer. Sending your ballot again (try %(n)s of %(total)s)…"),
    gettext_noop("Publishing the audited ballot…"),
    gettext_noop("(could not be read)"),
    gettext_noop(
        "The audited ballot contains exactly your choices: this browser encrypted them faithfully."
    ),
    gettext_noop(
        "Warning: the audited ballot does not contain your choices. Do not vote with this "
        "device; tell the election officials."
    ),
    gettext_noop(
        "You have changed your vote many times in a short while. You can vote again in "
        "%(minutes)s min."
    ),
    gettext_noop(
        "Your ballot was sent, but the receipt the server gave for it does not check out."
    ),
    gettext_noop("The receipt the server gave for this audited ballot does not check out."),
    gettext_noop("Checking the server’s signature on the receipt…"),
    # receipt-check.mjs (the booth and the check page)
    gettext_noop(
        "The first entry of this election’s board, which publishes the board key, is malformed "
        "or does not match its hash."
    ),
    gettext_noop(
        "The server announces a board key that differs from the one in the first entry of this "
        "election’s board."
    ),
    gettext_noop("The receipt does not have the form of a Pnyx receipt."),
    gettext_noop(
        "The receipt does not describe the ballot this browser sent (another election, kind or "
        "tracker)."
    ),
    gettext_noop(
        "The signature on the receipt does not verify with the board key of this election’s "
        "first board entry."
    ),
    gettext_noop(
        "The server says that its own signature on this receipt is not valid, although it "
        "verifies with its board key."
    ),
    gettext_noop("The receipt carries the board’s signature, but its ballot is not on the board."),
    gettext_noop(
        "Checked in this browser: the server’s signature on this receipt is valid. It was made "
        "with the board key published in the first entry of this election’s board (%(key)s…)."
    ),
    gettext_noop("Download the evidence (JSON)"),
    # proof-check.mjs, via check-page.mjs and booth-page.mjs: receipts that are proofs (§14.6)
    gettext_noop("This receipt does not check out: %(reason)s"),
    gettext_noop("Download the evidence (text)"),
    gettext_noop(
        "The latest checkpoint (%(size)s entries) extends it and is witnessed by %(k)s of %(m)s (quorum %(q)s)."
    ),
    gettext_noop(
        "The latest checkpoint (%(size)s entries) extends it; this election names no witnesses."
    ),
    gettext_noop(
        "This receipt proves, in your browser, that entry #%(seq)s is in the board signed by this election’s board key (%(n)s entries at the time)."
    ),
    gettext_noop("Waiting for the board’s next checkpoint to prove your ballot is in it…"),
    gettext_noop(
        "Checked in this browser: your ballot is in the board’s tree, and the latest checkpoint is witnessed by %(k)s of %(m)s."
    ),
    gettext_noop("Checked in this browser: your ballot is in the board’s tree."),
    gettext_noop("The proof of inclusion the server gave does not check out: %(reason)s"),
    gettext_noop(
        "No checkpoint covers your ballot yet; the signed receipt above still proves that the server accepted it."
    ),
    gettext_noop("The server is at fault"),
    gettext_noop(
        "Keep this evidence and give it to the election officials or the observers: it lets "
        "anyone check what went wrong."
    ),
    gettext_noop(
        "The receipt could not be checked in this browser: the board could not be reached. "
        "Download the receipt and check it later on the “Check my ballot” page."
    ),
    # board-page.mjs
    gettext_noop("New entries since this page was loaded: %(n)s."),
    gettext_noop("Reload the page"),
    gettext_noop("Live: checked at %(time)s."),
    gettext_noop("The board could not be reached; trying again."),
    # check-page.mjs
    gettext_noop("This receipt is for another election: check it on that election’s page."),
    gettext_noop(
        "If this file is the receipt the booth gave you, unchanged, the server issued a receipt "
        "that does not check out."
    ),
    gettext_noop(
        "This receipt is genuine: its signature verifies with the board key of this election."
    ),
    gettext_noop(
        "The receipt is genuine. It is the receipt of an audited ballot, which is never counted."
    ),
    gettext_noop(
        "The receipt is genuine and its ballot is on the board, but a later ballot with the same "
        "credential replaced it."
    ),
    gettext_noop(
        "The receipt is genuine and its ballot is on the board: it is the one that counts."
    ),
    gettext_noop("See the entry on the board"),
)

#: A plain sentence for every error code the API returns (voting/errors.py, identity/errors.py,
#: config/api_errors.py), plus the page scripts' own ``network_error`` and ``unexpected``.
ERRORS = {
    # Casting and auditing (voting/errors.py)
    "election_not_open": gettext_noop("This election is not open for voting."),
    "outside_voting_window": gettext_noop(
        "Voting is not possible now: it is outside the election's voting period."
    ),
    "payload_too_large": gettext_noop(
        "The ballot is too large for this election. Reload the page and vote again."
    ),
    "invalid_ballot": gettext_noop(
        "The server could not read this ballot. Reload the page and vote again."
    ),
    "wrong_election": gettext_noop(
        "This ballot was prepared for another election or an older version of it. Reload the "
        "page and vote again."
    ),
    "unknown_credential": gettext_noop(
        "This credential is not valid for this election. Check that you typed the credential "
        "you received by e-mail for this election."
    ),
    "invalid_signature": gettext_noop(
        "The ballot's signature does not match the credential. Check your credential and vote "
        "again."
    ),
    "invalid_proof": gettext_noop(
        "The ballot's proofs did not check out on the server. Reload the page and vote again; "
        "if it happens again, use another device and tell the election officials."
    ),
    "invalid_randomness": gettext_noop(
        "The audit data do not open this ballot. Reload the page and try again; if it happens "
        "again, tell the election officials."
    ),
    "duplicate_ballot": gettext_noop("This ballot is already on the board."),
    "ballot_was_audited": gettext_noop(
        "This ballot was audited, so it can never be cast. Encrypt your choices again."
    ),
    "credential_mismatch": gettext_noop(
        "You cast your first ballot in this election with another credential: every later "
        "ballot must use that same one. Type the credential you voted with before."
    ),
    "credential_taken": gettext_noop(
        "Someone else has already voted with this credential. If it is the one you received by "
        "e-mail, it may have leaked: tell the election officials."
    ),
    "revote_rate_limited": gettext_noop(
        "You have changed your vote many times in a short while. Please wait before voting again."
    ),
    "audit_limit_reached": gettext_noop(
        "You have audited as many ballots as this election allows. You can still cast a ballot."
    ),
    "invalid_receipt": gettext_noop("This file is not a Pnyx receipt."),
    # The board's transparency log (board/errors.py)
    "not_checkpointed_yet": gettext_noop(
        "The board has not published a checkpoint that includes this yet. Try again in a few "
        "seconds."
    ),
    # Election administration (voting/errors.py): officials' errors, explained all the same
    "transition_not_allowed": gettext_noop("The election cannot change to that state now."),
    "election_not_editable": gettext_noop("The election's questions can no longer change."),
    "questions_invalid": gettext_noop("The election's questions are not valid."),
    "invalid_ceremony_output": gettext_noop("The key ceremony's result is not valid."),
    "credentials_not_published": gettext_noop(
        "The voters' credentials have not been published yet."
    ),
    "voting_window_over": gettext_noop("The voting period is already over."),
    "manifest_invalid": gettext_noop("The election's description (manifest) is not valid."),
    # Trustees, key ceremony and tally (tally/errors.py)
    "ceremony_not_configurable": gettext_noop(
        "The trustees can no longer change: the key ceremony has started."
    ),
    "ceremony_invalid": gettext_noop("The trustees or the threshold are not valid."),
    "no_ceremony": gettext_noop("This election has no key ceremony on this server."),
    "unknown_trustee": gettext_noop("This election has no such trustee."),
    "enrolment_refused": gettext_noop("The enrolment token is wrong or was already used."),
    "already_registered": gettext_noop("This trustee has already registered its key."),
    "invalid_trustee_message": gettext_noop("The trustee's message is not valid."),
    "invalid_trustee_signature": gettext_noop("The message is not signed by this trustee's key."),
    "wrong_phase": gettext_noop(
        "This message is not expected at this step of the key ceremony or the tally."
    ),
    "ceremony_step_not_allowed": gettext_noop("This step of the key ceremony is not possible now."),
    "tally_not_possible": gettext_noop("The tally cannot run for this election now."),
    "decryption_attempts_exhausted": gettext_noop(
        "This trustee's partial decryption was rejected too many times; no further one is accepted."
    ),
    # Voters and credentials (identity/errors.py)
    "invalid_login_code": gettext_noop(
        "This login code is wrong, has expired or was already used. Check it, or ask for a new one."
    ),
    "rate_limited": gettext_noop("Too many attempts. Please wait a while and try again."),
    "login_code_unavailable": gettext_noop(
        "We could not send you a login code right now. Please try again in a minute."
    ),
    "credential_issuance_not_started": gettext_noop(
        "The credentials could not be generated right now: nothing was sent. Please try again "
        "in a minute."
    ),
    "roll_invalid": gettext_noop("The voter roll has errors."),
    "roll_frozen": gettext_noop("The voter roll can no longer change."),
    "no_voters": gettext_noop("This election has no voters yet."),
    "credentials_already_published": gettext_noop(
        "The credentials of this election are already published."
    ),
    "credential_issuance_in_progress": gettext_noop(
        "The credentials are being generated and sent right now."
    ),
    "credentials_invalid": gettext_noop("The credential file is not valid."),
    "credentials_not_allowed": gettext_noop(
        "Credentials can only be issued before the election opens."
    ),
    "email_backend_local": gettext_noop(
        "This server is not set up to send e-mails yet. Please tell the election officials."
    ),
    # Every request (config/api_errors.py)
    "application_error": gettext_noop("The request could not be carried out."),
    "invalid_request": gettext_noop(
        "Some information is missing or not valid. Check what you entered."
    ),
    "malformed_request": gettext_noop(
        "The server could not read the request. Reload the page and try again."
    ),
    "not_authenticated": gettext_noop(
        "You are not logged in, or your session has ended: log in again."
    ),
    "authentication_failed": gettext_noop(
        "You are not logged in, or your session has ended: log in again."
    ),
    "forbidden": gettext_noop("This is not allowed. Reload the page and try again."),
    "not_found": gettext_noop("This election or item does not exist."),
    "method_not_allowed": gettext_noop("This action is not possible here."),
    "not_acceptable": gettext_noop("The server cannot answer in a format this page understands."),
    "unsupported_media_type": gettext_noop(
        "The server could not read the request. Reload the page and try again."
    ),
    "throttled": gettext_noop("Too many requests. Please wait a moment and try again."),
    "bad_request": gettext_noop(
        "The server could not understand the request. Reload the page and try again."
    ),
    "internal_error": gettext_noop("The server had a problem. Please try again in a moment."),
    "service_unavailable": gettext_noop(
        "The voting service is briefly unavailable. Please try again in a moment."
    ),
    # The page scripts' own
    "network_error": gettext_noop(
        "The server cannot be reached. Check your connection and try again."
    ),
    "unexpected": gettext_noop("Something went wrong. Please try again in a moment."),
}


def js_catalogue() -> str:
    """The catalogue in the active language, as JSON for a ``data-i18n`` attribute."""
    return json.dumps(
        {
            # the scripts fall back to the English text: send only what differs
            "messages": {
                message: translated
                for message in MESSAGES
                if (translated := gettext(message)) != message
            },
            "errors": {code: gettext(message) for code, message in ERRORS.items()},
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
