// SomaStack console: a running run's page streams its events live (EventSource on the console's
// own route, authorized by the session cookie) and appends them to the events table; at the
// terminal event it reloads the page, which then shows every stored event and the provenance.
// A static file, so the strict Content-Security-Policy (no inline script) holds.
(function () {
  'use strict';
  var table = document.getElementById('events');
  if (!table || !table.dataset.stream || typeof EventSource === 'undefined') {
    return;
  }
  var body = table.querySelector('tbody');
  var status = document.getElementById('run-status');
  var types = ['run.started', 'model.delta', 'model.completed', 'tool.started', 'tool.delta', 'tool.completed', 'tool.failed',
    'memory.recalled', 'memory.remembered', 'run.completed', 'run.failed', 'run.cancelled', 'run.interrupted'];
  var terminal = {'run.completed': 'completed', 'run.failed': 'failed', 'run.cancelled': 'cancelled', 'run.interrupted': 'interrupted'};
  var source = new EventSource(table.dataset.stream);
  var received = 0;

  function cell(tag, text, code) {
    var element = document.createElement(tag);
    if (tag === 'th') {
      element.scope = 'row';
    }
    if (code) {
      var inner = document.createElement('code');
      inner.textContent = text;
      element.appendChild(inner);
    } else {
      element.textContent = text;
    }
    return element;
  }

  function append(event) {
    var row = document.createElement('tr');
    row.className = 'live';
    row.appendChild(cell('th', event.lastEventId, false));
    row.appendChild(cell('td', event.type, false));
    row.appendChild(cell('td', new Date().toISOString(), false));
    row.appendChild(cell('td', event.data, true));
    body.appendChild(row);
    received += 1;
    table.dataset.received = String(received);
    if (terminal[event.type]) {
      source.close();
      status.textContent = terminal[event.type];
      table.dataset.ended = 'true';
      window.location.reload();
    }
  }

  types.forEach(function (type) {
    source.addEventListener(type, append);
  });
  source.addEventListener('open', function () {
    table.dataset.live = 'true';
  });
})();
