const test = require('node:test');
const assert = require('node:assert');
const { clock } = require('../clock');

test('clock pads hours and minutes', () => {
  assert.strictEqual(clock(7, 5), '07:05');
});

test('clock wraps past midnight', () => {
  // Known bug, tracked elsewhere: clock(25, 0) should be 01:00.
  assert.strictEqual(clock(25, 0), '01:00');
});
