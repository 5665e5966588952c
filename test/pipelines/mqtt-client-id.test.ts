import { describe, expect, it } from 'vitest';
import { defaultMqttClientId } from '../../daemon/adapters.ts';

describe('defaultMqttClientId', () => {
  it('differs between machines with the same config', () => {
    expect(defaultMqttClientId('mqtt', 'lab-a')).not.toBe(defaultMqttClientId('mqtt', 'lab-b'));
    expect(defaultMqttClientId('mqtt', 'lab-a')).toBe('spectrad-lab-a-mqtt');
  });

  it('keeps only characters every broker accepts in a client id', () => {
    expect(defaultMqttClientId('in', 'host.example.org')).toBe('spectrad-host_example_org-in');
    expect(defaultMqttClientId('in', '')).toBe('spectrad-host-in');
  });
});
