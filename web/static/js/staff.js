// Progressive enhancement for the staff pages; every form works without it.
(function () {
  "use strict";

  // After a refused form, take keyboard and screen-reader users to the list of problems.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }

  // Route form: show only the receiver list that matches the chosen kind of target.
  document.querySelectorAll(".route-form").forEach(function (form) {
    var target = form.querySelector("select[name=target]");
    if (!target) {
      return;
    }
    form.querySelectorAll(".no-js-hint").forEach(function (hint) {
      hint.hidden = true;
    });
    function sync() {
      form.querySelectorAll(".route-choice").forEach(function (field) {
        var shown = field.classList.contains("route-" + target.value);
        field.hidden = !shown;
        field.querySelectorAll("select").forEach(function (select) {
          select.disabled = !shown;
        });
      });
    }
    target.addEventListener("change", sync);
    sync();
  });

  // Party rows: the "represents" list only matters for agents.
  document.querySelectorAll(".party-row").forEach(function (row) {
    var role = row.querySelector("select[name$=_role]");
    var represents = row.querySelector(".represents");
    if (!role || !represents) {
      return;
    }
    function sync() {
      var agent = role.value === "agent";
      represents.hidden = !agent;
      represents.querySelectorAll("select").forEach(function (select) {
        select.disabled = !agent;
      });
    }
    role.addEventListener("change", sync);
    sync();
  });

  // Intake: add a party row by copying the last one, renumbering its fields.
  var rows = document.querySelector(".party-rows");
  if (rows && rows.dataset.addLabel) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-secondary add-party";
    button.textContent = rows.dataset.addLabel;
    rows.after(button);
    button.addEventListener("click", function () {
      var all = rows.querySelectorAll(".party-row");
      var max = parseInt(rows.dataset.max || "20", 10);
      if (all.length >= max) {
        return;
      }
      var last = all[all.length - 1];
      var index = all.length;
      var copy = last.cloneNode(true);
      var before = "p" + (index - 1) + "_";
      var after = "p" + index + "_";
      copy.querySelectorAll("[id],[name],[for],[aria-describedby]").forEach(function (el) {
        ["id", "name", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) {
            el.setAttribute(attr, value.split(before).join(after));
          }
        });
      });
      copy.querySelectorAll("input, textarea").forEach(function (el) {
        el.value = "";
        el.removeAttribute("aria-invalid");
      });
      copy.querySelectorAll(".field-error").forEach(function (el) {
        el.remove();
      });
      copy.querySelectorAll(".has-error").forEach(function (el) {
        el.classList.remove("has-error");
      });
      var legend = copy.querySelector("legend");
      if (legend && rows.dataset.rowLabel) {
        legend.textContent = rows.dataset.rowLabel.replace("{n}", String(index + 1));
      }
      // Every row may name the new row as the party it represents, and vice versa.
      var option = document.createElement("option");
      option.value = String(index);
      option.textContent = rows.dataset.rowLabel
        ? rows.dataset.rowLabel.replace("{n}", String(index + 1))
        : String(index + 1);
      all.forEach(function (row) {
        var select = row.querySelector(".represents select");
        if (select) {
          select.appendChild(option.cloneNode(true));
        }
      });
      var ownSelect = copy.querySelector(".represents select");
      if (ownSelect) {
        var blank = ownSelect.querySelector("option[value='']");
        ownSelect.innerHTML = "";
        if (blank) {
          ownSelect.appendChild(blank);
        }
        for (var j = 0; j < index; j++) {
          var own = document.createElement("option");
          own.value = String(j);
          own.textContent = rows.dataset.rowLabel
            ? rows.dataset.rowLabel.replace("{n}", String(j + 1))
            : String(j + 1);
          ownSelect.appendChild(own);
        }
        ownSelect.value = "";
      }
      var role = copy.querySelector("select[name$=_role]");
      if (role) {
        role.value = "agent";
        role.dispatchEvent(new Event("change"));
      }
      rows.appendChild(copy);
      var role2 = copy.querySelector("select[name$=_role]");
      var represents = copy.querySelector(".represents");
      if (role2 && represents) {
        role2.addEventListener("change", function () {
          var agent = role2.value === "agent";
          represents.hidden = !agent;
          represents.querySelectorAll("select").forEach(function (select) {
            select.disabled = !agent;
          });
        });
      }
      var name = copy.querySelector("input[name$=_name]");
      if (name) {
        name.focus();
      }
    });
  }
})();
