// Matching review: each draft's "New mentor" search becomes a combobox. As the instructor types, the mentors with a
// place left whose name matches are fetched as JSON from the very search the form opens without JavaScript, and
// listed; the arrow keys move through them, Enter (or a click) picks one and posts the draft's hidden reassign form.
(function () {
  "use strict";

  function setup(form) {
    var input = form.querySelector('input[type="search"]');
    var choice = form.nextElementSibling; // the draft's hidden reassign form, with its CSRF token
    if (!input || !choice || !choice.classList.contains("mentor-picker-choice")) {
      return;
    }
    var list = document.createElement("ul");
    list.id = input.id + "-options";
    list.className = "picker-options";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Mentors with a place left");
    list.hidden = true;
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    form.appendChild(list);
    form.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    var mentors = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.children;
      for (var i = 0; i < items.length; i += 1) {
        items[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      }
    }

    function pick(mentor) {
      choice.querySelector('input[name="mentor"]').value = mentor.id;
      status.textContent = "Reassigning to " + mentor.name + "…";
      choice.submit();
    }

    function show(found) {
      mentors = found;
      list.textContent = "";
      found.forEach(function (mentor, index) {
        var item = document.createElement("li");
        item.id = list.id + "-" + index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = mentor.name + " · " + mentor.places;
        item.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the input
          pick(mentor);
        });
        list.appendChild(item);
      });
      if (found.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent =
          found.length + (found.length === 1 ? " mentor" : " mentors") + " found: arrow keys to choose, Enter to reassign.";
      } else {
        close();
        status.textContent = "No mentor with a place left matches.";
      }
    }

    function search() {
      asked += 1;
      var ticket = asked;
      // The action may carry a query of its own (a frame session's token): add `q` to it.
      var url = new URL(form.action, window.location.href);
      url.searchParams.set("q", input.value.trim());
      fetch(url.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (data) {
          if (ticket === asked) {
            show(data.mentors);
          }
        })
        .catch(function () {
          status.textContent = "The search failed: press Find a mentor to search on its own page.";
        });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) {
          search();
        } else {
          highlight(Math.min(active + 1, mentors.length - 1));
        }
      } else if (event.key === "ArrowUp" && !list.hidden) {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();
        pick(mentors[active]);
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.mentor-picker").forEach(setup);
  });
})();
