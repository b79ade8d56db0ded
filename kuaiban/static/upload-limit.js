// A file over the upload limit is refused at its input, before it is sent: the server stops
// such an upload while it streams in, but a browser may then show a broken connection instead
// of the page. The limit and the message come from the input (data-max-bytes, data-too-large).
(function () {
  "use strict";
  function tooLarge(input) {
    var max = Number(input.dataset.maxBytes);
    return Array.prototype.some.call(input.files || [], function (file) {
      return file.size > max;
    });
  }
  function check(input) {
    input.setCustomValidity(tooLarge(input) ? input.dataset.tooLarge : "");
    return input.validity.valid;
  }
  var inputs = document.querySelectorAll('input[type="file"][data-max-bytes]');
  Array.prototype.forEach.call(inputs, function (input) {
    input.addEventListener("change", function () {
      if (!check(input)) input.reportValidity();
    });
    if (input.form) {
      // Forms marked novalidate (the window's sitting) are checked here too.
      input.form.addEventListener("submit", function (event) {
        if (!check(input)) {
          event.preventDefault();
          input.reportValidity();
        }
      });
    }
  });
})();
