// Profile form: the preference picker searches as you type instead of reloading the page. Without this script the
// Search button posts the form back (keeping every answer) with the people found; the server checks every choice.
document.addEventListener("DOMContentLoaded", function () {
  var picker = document.querySelector("fieldset[data-people-search]");
  if (!picker || typeof window.fetch !== "function") {
    return;
  }
  var input = picker.querySelector("input[type=search]");
  var button = picker.querySelector("button[type=submit]");
  var status = document.getElementById("people-search-status");
  var chosen = document.getElementById("preferences-chosen");
  var results = document.getElementById("preferences-results");
  var template = picker.querySelector("input[type=checkbox]");
  var pending = null;
  var asked = 0;

  function isChosen(id) {
    return chosen.querySelector('input[value="' + id + '"]') !== null;
  }

  function option(person) {
    var box = document.createElement("div");
    box.className = "check";
    var checkbox = document.createElement("input");
    checkbox.type = "checkbox";
    checkbox.id = "preferences-" + person.id;
    checkbox.name = "preferences";
    checkbox.value = String(person.id);
    checkbox.setAttribute("aria-describedby", template ? template.getAttribute("aria-describedby") : "preferences-hint");
    var label = document.createElement("label");
    label.htmlFor = checkbox.id;
    label.textContent = person.name;
    box.appendChild(checkbox);
    box.appendChild(label);
    return box;
  }

  function show(answer) {
    // Ticked results join the choices before the list is replaced (not on ticking: moving would lose the focus).
    results.querySelectorAll("input:checked").forEach(function (checkbox) {
      chosen.appendChild(checkbox.parentNode);
    });
    results.replaceChildren();
    answer.people.forEach(function (person) {
      if (!isChosen(person.id)) {
        results.appendChild(option(person));
      }
    });
    status.textContent = answer.summary;
  }

  function search() {
    window.clearTimeout(pending);
    var number = ++asked;
    // The URL may carry a query of its own (a frame session's token): add `q` to it.
    var url = new URL(picker.getAttribute("data-people-search"), window.location.href);
    url.searchParams.set("q", input.value);
    fetch(url.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (answer) {
        if (number === asked) {  // an older, slower answer never replaces a newer one
          show(answer);
        }
      })
      .catch(function () {
        status.textContent = "The search did not answer: try again, or reload the page.";
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(search, 250);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {  // search, rather than save the whole form
      event.preventDefault();
      search();
    }
  });
  button.addEventListener("click", function (event) {
    event.preventDefault();
    search();
  });
});
