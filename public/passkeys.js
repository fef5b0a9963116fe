/* global document, window, fetch */
// Passkey buttons: each names its purpose in data-passkey. The WebAuthn ceremony runs in the
// browser (SimpleWebAuthnBrowser, served from /assets/webauthn-browser.js); the server keeps the
// challenge and checks the answer. Buttons stay hidden where WebAuthn is not available.
;(function () {
  'use strict'
  var api = window.SimpleWebAuthnBrowser
  if (api === undefined || !api.browserSupportsWebAuthn()) return

  function csrfToken() {
    var input = document.querySelector('input[name="_csrf"]')
    return input === null ? '' : input.value
  }

  async function post(url, body) {
    var response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'x-csrf-token': csrfToken(),
      },
      body: JSON.stringify(body),
    })
    var data = await response.json().catch(function () {
      return {}
    })
    if (data.code === 'reauthentication_required') {
      // Confirm who you are first, then come back to this page and try again.
      window.location.assign('/reauthenticate?next=' + encodeURIComponent(window.location.pathname))
      return new Promise(function () {})
    }
    if (!response.ok) throw new Error(data.detail || 'Something went wrong. Try again.')
    return data
  }

  function passkeyName() {
    var input = document.querySelector('[data-passkey-name]')
    return input === null ? '' : input.value
  }

  async function run(button) {
    var purpose = button.getAttribute('data-passkey')
    var result
    if (purpose === 'register' || purpose === 'enrol') {
      var created = await post('/webauthn/registration/options', { purpose: purpose })
      var attestation = await api.startRegistration({ optionsJSON: created.options })
      result = await post('/webauthn/registration', {
        purpose: purpose,
        flow: created.flow,
        name: passkeyName(),
        response: attestation,
      })
    } else {
      var requested = await post('/webauthn/authentication/options', { purpose: purpose })
      var assertion = await api.startAuthentication({ optionsJSON: requested.options })
      result = await post('/webauthn/authentication', {
        purpose: purpose,
        flow: requested.flow,
        next: button.getAttribute('data-next') || undefined,
        response: assertion,
      })
    }
    window.location.assign(result.redirect)
  }

  document.querySelectorAll('button[data-passkey]').forEach(function (button) {
    var error = button.parentElement.querySelector('[data-passkey-error]')
    button.hidden = false
    button.addEventListener('click', function () {
      button.disabled = true
      if (error !== null) error.hidden = true
      run(button).catch(function (problem) {
        button.disabled = false
        if (error === null) return
        error.textContent =
          problem && problem.name === 'NotAllowedError'
            ? 'The passkey request was cancelled or timed out.'
            : problem.message
        error.hidden = false
      })
    })
  })
})()
