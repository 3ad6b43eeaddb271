// LTI platform storage (1EdTech LTI Client Side postMessages, postMessage Storage): keep a login's state and nonce
// in the LMS's storage when the tool's frame has no cookies, and read them back at the launch.
//
// Login page ([data-lti-storage="put"]): ask the LMS window for its capabilities, put the state's browser secret
// and the nonce into the storage frame, then go on to the LMS's authorization URL. Whatever fails (no LMS window,
// no answer, no storage), the login goes on all the same: the state cookie, set too, may work.
// Launch-check page ([data-lti-storage="get"]): get both back, post the launch again with them; when the LMS
// does not give them, say why and offer the new window.
//
// Only `lti.capabilities` goes out with the target origin "*", as the spec allows (the tool cannot know the LMS
// page's origin yet, and the message carries nothing). `lti.put_data` and `lti.get_data` go to the frame the LMS
// named, with the exact origin of its OIDC authorization URL, and only an answer from that origin to that message
// id counts. Every wait ends after data-timeout milliseconds.
(function () {
  "use strict";
  var page = document.querySelector("[data-lti-storage]");
  if (!page) {
    return;
  }
  var origin = page.getAttribute("data-origin");
  var timeout = parseInt(page.getAttribute("data-timeout"), 10) || 3000;
  var status = document.querySelector("[data-lti-storage-status]");

  function lmsWindow() {
    if (window.parent && window.parent !== window) {
      return window.parent;
    }
    return window.opener || null;
  }

  function messageId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // Send `message` to `target` and wait for its ".response" from `answerOrigin` ("*": any origin).
  function send(target, message, targetOrigin, answerOrigin) {
    return new Promise(function (resolve, reject) {
      message.message_id = messageId();
      var timer = null;
      function listen(event) {
        var data = event.data;
        if (!data || typeof data !== "object" || data.message_id !== message.message_id) {
          return;
        }
        if (data.subject !== message.subject + ".response") {
          return;
        }
        if (answerOrigin !== "*" && event.origin !== answerOrigin) {
          return;
        }
        window.removeEventListener("message", listen);
        window.clearTimeout(timer);
        if (data.error) {
          reject({ code: data.error.code || "error", message: data.error.message || "" });
        } else {
          resolve(data);
        }
      }
      window.addEventListener("message", listen);
      timer = window.setTimeout(function () {
        window.removeEventListener("message", listen);
        reject({ code: "timeout", message: "no answer within " + timeout / 1000 + " s" });
      }, timeout);
      try {
        target.postMessage(message, targetOrigin);
      } catch (error) {
        window.removeEventListener("message", listen);
        window.clearTimeout(timer);
        reject({ code: "unreachable", message: String(error) });
      }
    });
  }

  // The window to address storage messages to: the frame the capabilities answer names, else the
  // lti_storage_target the LMS sent ("_parent": the LMS window itself).
  function storageFrame(lms, wanted) {
    return send(lms, { subject: "lti.capabilities" }, "*", "*").then(
      function (answer) {
        var supported = Array.isArray(answer.supported_messages) ? answer.supported_messages : [];
        var found = supported.filter(function (m) { return m && m.subject === wanted; })[0];
        if (!found) {
          return Promise.reject({ code: "unsupported", message: "the LMS does not offer " + wanted });
        }
        return frameNamed(lms, found.frame || page.getAttribute("data-target"));
      },
      function () {
        // An LMS may send lti_storage_target without answering lti.capabilities: its frame is the signal.
        return frameNamed(lms, page.getAttribute("data-target"));
      }
    );
  }

  function frameNamed(lms, name) {
    if (!name || name === "_parent") {
      return lms;
    }
    try {
      if (lms.frames[name]) {
        return lms.frames[name];
      }
    } catch (error) {
      // Named frames of a cross-origin window are still reachable; anything else falls back to the window.
    }
    return lms;
  }

  function putLogin(lms) {
    return storageFrame(lms, "lti.put_data").then(function (frame) {
      var put = function (key, value) {
        return send(frame, { subject: "lti.put_data", key: key, value: value }, origin, origin);
      };
      return put(page.getAttribute("data-state-key"), page.getAttribute("data-state-value")).then(function () {
        return put(page.getAttribute("data-nonce-key"), page.getAttribute("data-nonce-value"));
      });
    });
  }

  function getLogin(lms) {
    return storageFrame(lms, "lti.get_data").then(function (frame) {
      var get = function (key) {
        return send(frame, { subject: "lti.get_data", key: key }, origin, origin).then(function (answer) {
          return typeof answer.value === "string" ? answer.value : "";
        });
      };
      var stateKey = page.getAttribute("data-state-key");
      var nonceKey = page.getAttribute("data-nonce-key");
      return get(stateKey).then(function (state) {
        return get(nonceKey).then(function (nonce) {
          if (!state || !nonce) {
            return Promise.reject({ code: "not_found", message: "the LMS keeps no login of this launch" });
          }
          // Used once: ask the LMS to forget both (not waited for).
          [stateKey, nonceKey].forEach(function (key) {
            frame.postMessage({ subject: "lti.put_data", key: key, value: null, message_id: messageId() }, origin);
          });
          return { state: state, nonce: nonce };
        });
      });
    });
  }

  var lms = lmsWindow();
  if (page.getAttribute("data-lti-storage") === "put") {
    var goOn = function () { window.location.replace(page.getAttribute("data-auth-url")); };
    if (!lms) {
      goOn();
      return;
    }
    putLogin(lms).then(goOn, function (error) {
      // The state cookie may still work; if it does not, the launch says so and offers a new window.
      if (status) {
        status.textContent = "The LMS did not keep the login (" + error.message + "); going on with cookies.";
      }
      goOn();
    });
    return;
  }

  function fail(error) {
    if (status) {
      status.hidden = true;
    }
    var reason = document.querySelector("[data-lti-storage-reason]");
    if (reason) {
      reason.textContent = "(The LMS's storage: " + error.message + ".)";
    }
    var failed = document.querySelector("[data-lti-storage-failed]");
    if (failed) {
      failed.hidden = false;
    }
  }

  if (!lms) {
    fail({ message: "this page is not inside the LMS" });
    return;
  }
  getLogin(lms).then(function (found) {
    page.querySelector('input[name="lti_storage_state"]').value = found.state;
    page.querySelector('input[name="lti_storage_nonce"]').value = found.nonce;
    page.submit();
  }, fail);
})();
