// The sandbox LMS's side of LTI Client Side postMessages, as Canvas does it.
//
// On the launch page (#lms-frame-messages): answer the tool frame's `lti.capabilities`, grow the frame on
// `lti.frameResize`, scroll to it on `lti.scrollToTop`; inside the "rich-content editor" (storage `_parent`) also
// answer platform storage itself. In the storage frame (#lms-storage, Canvas's post_message_forwarding):
// answer `lti.put_data` and `lti.get_data`. Only messages from the origins of the tools this LMS launches count;
// stored values are kept per tool origin in localStorage, for ten minutes, and every answer goes to the asking
// window with its exact origin. What was asked is logged in window.sandboxLtiLog (tests read it).
(function () {
  "use strict";
  var page = document.getElementById("lms-frame-messages");
  var storageFrame = document.getElementById("lms-storage");
  var config = page || storageFrame;
  if (!config) {
    return;
  }
  var toolOrigins = (config.getAttribute("data-tool-origins") || "").split(" ").filter(Boolean);
  var storage = page ? page.getAttribute("data-storage") : "frame";
  var LIFETIME_MS = 10 * 60 * 1000;
  window.sandboxLtiLog = [];

  function answer(event, data) {
    data.subject = event.data.subject + ".response";
    data.message_id = event.data.message_id;
    event.source.postMessage(data, event.origin);
  }

  function storageKey(origin, key) {
    return "lti-platform-storage " + origin + " " + key;
  }

  function keep(event) {
    var message = event.data;
    if (typeof message.key !== "string" || !message.key || !message.message_id) {
      answer(event, { error: { code: "bad_request", message: "key and message_id are required" } });
      return;
    }
    var key = storageKey(event.origin, message.key);
    if (message.subject === "lti.put_data") {
      if (message.value === null || message.value === undefined) {
        window.localStorage.removeItem(key);
      } else {
        window.localStorage.setItem(key, JSON.stringify({ value: String(message.value), ends: Date.now() + LIFETIME_MS }));
      }
      answer(event, { key: message.key, value: message.value === undefined ? null : message.value });
      return;
    }
    var stored = null;
    try {
      stored = JSON.parse(window.localStorage.getItem(key) || "null");
    } catch (error) {
      stored = null;
    }
    answer(event, { key: message.key, value: stored && stored.ends > Date.now() ? stored.value : null });
  }

  function capabilities(event) {
    var supported = [{ subject: "lti.capabilities" }, { subject: "lti.frameResize" }, { subject: "lti.scrollToTop" }];
    if (storage === "post_message_forwarding") {
      supported.push({ subject: "lti.put_data", frame: storage }, { subject: "lti.get_data", frame: storage });
    } else if (storage === "_parent") {
      supported.push({ subject: "lti.put_data" }, { subject: "lti.get_data" });
    } else {
      return; // A Moodle-like LMS does not know these messages: it does not answer.
    }
    answer(event, { supported_messages: supported });
  }

  window.addEventListener("message", function (event) {
    var message = event.data;
    if (!message || typeof message !== "object" || typeof message.subject !== "string") {
      return;
    }
    if (toolOrigins.indexOf(event.origin) < 0) {
      return; // not a tool this LMS launched
    }
    window.sandboxLtiLog.push({ subject: message.subject, origin: event.origin, at: page ? "page" : "storage" });
    if (!page) {
      if (message.subject === "lti.put_data" || message.subject === "lti.get_data") {
        keep(event);
      }
      return;
    }
    var frame = document.getElementById("tool-frame");
    if (!frame || event.source !== frame.contentWindow) {
      return;
    }
    if (message.subject === "lti.capabilities") {
      capabilities(event);
    } else if ((message.subject === "lti.put_data" || message.subject === "lti.get_data") && storage === "_parent") {
      keep(event);
    } else if (message.subject === "lti.frameResize") {
      var height = parseInt(message.height, 10);
      if (height > 0) {
        frame.style.height = Math.min(Math.max(height, 150), 20000) + "px";
      }
    } else if (message.subject === "lti.scrollToTop") {
      window.scrollTo(0, frame.getBoundingClientRect().top + window.scrollY);
    }
  });
})();
