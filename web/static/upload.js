// Upload progress: send the form with XMLHttpRequest and show how much has gone.
// Without JavaScript the same form posts normally; the server streams it either way.
"use strict";
document.querySelectorAll("form[data-progress]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var box = document.getElementById(form.dataset.progress);
    var bar = box.querySelector("progress");
    var percent = box.querySelector(".percent");
    var button = form.querySelector("button[type=submit]");
    var request = new XMLHttpRequest();
    box.hidden = false;
    button.disabled = true;
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.floor((e.loaded / e.total) * 100);
        percent.textContent = bar.value + "%";
      }
    });
    request.addEventListener("load", function () {
      var type = request.getResponseHeader("Content-Type") || "";
      if (request.status >= 200 && request.status < 300 && type.indexOf("application/json") === 0) {
        window.location.assign(JSON.parse(request.responseText).location);
      } else {  // an error page, or the login page after the session ended: show it as it is
        document.open();
        document.write(request.responseText);
        document.close();
      }
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      percent.textContent = "✗";
    });
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    request.send(new FormData(form));
  });
});
