// The replies of the middleware client port, as the command line checks them without zod.
// Generated from the zod schemas by test/json-schemas.test.ts (OCCDB_WRITE_GENERATED=1): do not edit.
import type { JsonSchema } from './json-schema.js';

/** The request types of a middleware's client port, and the login's. */
export type ClientRequestType = 'ping' | 'status' | 'txn.run' | 'shutdown' | 'observe' | 'auth.hello' | 'auth.proof';

export const REPLY_JSON_SCHEMA: JsonSchema = {
  "anyOf": [
    {
      "type": "object",
      "properties": {
        "id": {
          "anyOf": [
            {
              "type": "integer",
              "minimum": 0,
              "maximum": 9007199254740991
            },
            {
              "type": "null"
            }
          ]
        },
        "ok": {
          "type": "boolean",
          "const": true
        },
        "result": {}
      },
      "required": [
        "id",
        "ok",
        "result"
      ]
    },
    {
      "type": "object",
      "properties": {
        "id": {
          "anyOf": [
            {
              "type": "integer",
              "minimum": 0,
              "maximum": 9007199254740991
            },
            {
              "type": "null"
            }
          ]
        },
        "ok": {
          "type": "boolean",
          "const": false
        },
        "error": {
          "type": "object",
          "properties": {
            "code": {
              "type": "string",
              "enum": [
                "BAD_COMMAND_FILE",
                "ENTRY_NONEXISTENT",
                "ENTRY_BOGUS",
                "INTEGER_OVERFLOW",
                "MAGIC_UNKNOWN",
                "TXN_ROLLED_BACK",
                "TXN_RETRIES_EXHAUSTED",
                "NODE_UNAVAILABLE",
                "MIDDLEWARE_LEAVING",
                "TXN_OUTCOME_UNKNOWN",
                "FENCED",
                "NO_QUORUM",
                "NOT_JOINING",
                "UNAUTHENTICATED",
                "FORBIDDEN",
                "BAD_MESSAGE",
                "UNKNOWN_MESSAGE",
                "MESSAGE_TOO_LARGE",
                "TIMEOUT",
                "CLUSTER_FILE_INVALID",
                "CLUSTER_UNREACHABLE",
                "PROCESS_CONTROL_FAILED",
                "STORAGE_UNAVAILABLE",
                "USAGE",
                "INTERNAL"
              ]
            },
            "message": {
              "type": "string"
            }
          },
          "required": [
            "code",
            "message"
          ]
        }
      },
      "required": [
        "id",
        "ok",
        "error"
      ]
    }
  ]
};
export const CLIENT_RESULT_JSON_SCHEMAS: Readonly<Record<ClientRequestType, JsonSchema>> = {
  "ping": {
    "type": "object",
    "properties": {}
  },
  "status": {
    "type": "object",
    "properties": {
      "role": {
        "type": "string",
        "enum": [
          "database",
          "middleware"
        ]
      },
      "id": {
        "type": "integer",
        "exclusiveMinimum": 0,
        "maximum": 9007199254740991
      },
      "pid": {
        "type": "integer",
        "minimum": -9007199254740991,
        "maximum": 9007199254740991
      },
      "ports": {
        "type": "object",
        "propertyNames": {
          "type": "string"
        },
        "additionalProperties": {
          "type": "integer",
          "minimum": -9007199254740991,
          "maximum": 9007199254740991
        }
      },
      "uptimeMs": {
        "type": "number",
        "minimum": 0
      },
      "clock": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "strategy": {
        "type": "string"
      },
      "commits": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "rolledBack": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "failed": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "aborts": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "inFlight": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "members": {
        "type": "array",
        "items": {
          "type": "integer",
          "minimum": -9007199254740991,
          "maximum": 9007199254740991
        }
      },
      "requests": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "messagesSent": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "lockedKeys": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "connections": {
        "type": "object",
        "properties": {
          "tcp": {
            "type": "integer",
            "minimum": 0,
            "maximum": 9007199254740991
          },
          "unix": {
            "type": "integer",
            "minimum": 0,
            "maximum": 9007199254740991
          }
        },
        "required": [
          "tcp",
          "unix"
        ]
      },
      "syncs": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "applies": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "lingers": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "pending": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "keys": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "chosenEpoch": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "promised": {
        "anyOf": [
          {
            "type": "object",
            "properties": {
              "round": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991
              },
              "proposer": {
                "type": "integer",
                "exclusiveMinimum": 0,
                "maximum": 1000000
              },
              "incarnation": {
                "type": "string",
                "maxLength": 100,
                "pattern": "^\\d+\\.[0-9A-Za-z]+$"
              }
            },
            "required": [
              "round",
              "proposer",
              "incarnation"
            ]
          },
          {
            "type": "null"
          }
        ]
      },
      "sync": {
        "anyOf": [
          {
            "type": "object",
            "properties": {
              "joiningSince": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991
              },
              "complete": {
                "type": "boolean"
              }
            },
            "required": [
              "joiningSince",
              "complete"
            ]
          },
          {
            "type": "null"
          }
        ]
      },
      "incarnation": {
        "type": "string",
        "maxLength": 100,
        "pattern": "^\\d+\\.[0-9A-Za-z]+$"
      },
      "view": {
        "type": "object",
        "properties": {
          "epoch": {
            "type": "integer",
            "minimum": 0,
            "maximum": 9007199254740991
          },
          "members": {
            "maxItems": 1000,
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "id": {
                  "type": "integer",
                  "exclusiveMinimum": 0,
                  "maximum": 1000000
                },
                "incarnation": {
                  "type": "string",
                  "maxLength": 100,
                  "pattern": "^\\d+\\.[0-9A-Za-z]+$"
                }
              },
              "required": [
                "id",
                "incarnation"
              ]
            }
          },
          "replicas": {
            "maxItems": 1000,
            "type": "array",
            "items": {
              "type": "integer",
              "exclusiveMinimum": 0,
              "maximum": 1000000
            }
          },
          "joining": {
            "maxItems": 1000,
            "type": "array",
            "items": {
              "type": "integer",
              "exclusiveMinimum": 0,
              "maximum": 1000000
            }
          }
        },
        "required": [
          "epoch",
          "members",
          "replicas",
          "joining"
        ]
      },
      "suspected": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "id": {
              "type": "integer",
              "exclusiveMinimum": 0,
              "maximum": 1000000
            },
            "why": {
              "type": "string"
            }
          },
          "required": [
            "id",
            "why"
          ]
        }
      },
      "suspectedDatabases": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "id": {
              "type": "integer",
              "exclusiveMinimum": 0,
              "maximum": 1000000
            },
            "why": {
              "type": "string"
            }
          },
          "required": [
            "id",
            "why"
          ]
        }
      },
      "transfer": {
        "anyOf": [
          {
            "type": "object",
            "properties": {
              "database": {
                "type": "integer",
                "exclusiveMinimum": 0,
                "maximum": 1000000
              },
              "source": {
                "type": "integer",
                "exclusiveMinimum": 0,
                "maximum": 1000000
              },
              "copied": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991
              }
            },
            "required": [
              "database",
              "source",
              "copied"
            ]
          },
          {
            "type": "null"
          }
        ]
      }
    },
    "required": [
      "role",
      "id",
      "pid",
      "ports",
      "uptimeMs"
    ]
  },
  "txn.run": {
    "type": "object",
    "properties": {
      "outcome": {
        "type": "string",
        "enum": [
          "committed",
          "rolled_back",
          "failed"
        ]
      },
      "ts": {
        "type": "array",
        "prefixItems": [
          {
            "type": "integer",
            "minimum": 0,
            "maximum": 9007199254740991
          },
          {
            "type": "integer",
            "minimum": 0,
            "maximum": 9007199254740991
          }
        ],
        "items": false,
        "minItems": 2,
        "maxItems": 2
      },
      "retries": {
        "type": "integer",
        "minimum": 0,
        "maximum": 9007199254740991
      },
      "results": {
        "type": "array",
        "items": {
          "oneOf": [
            {
              "type": "object",
              "properties": {
                "line": {
                  "type": "integer",
                  "exclusiveMinimum": 0,
                  "maximum": 9007199254740991
                },
                "kind": {
                  "type": "string",
                  "const": "print"
                },
                "value": {
                  "type": "string"
                }
              },
              "required": [
                "line",
                "kind",
                "value"
              ]
            },
            {
              "type": "object",
              "properties": {
                "line": {
                  "type": "integer",
                  "exclusiveMinimum": 0,
                  "maximum": 9007199254740991
                },
                "kind": {
                  "type": "string",
                  "const": "error"
                },
                "code": {
                  "type": "string",
                  "enum": [
                    "BAD_COMMAND_FILE",
                    "ENTRY_NONEXISTENT",
                    "ENTRY_BOGUS",
                    "INTEGER_OVERFLOW",
                    "MAGIC_UNKNOWN",
                    "TXN_ROLLED_BACK",
                    "TXN_RETRIES_EXHAUSTED",
                    "NODE_UNAVAILABLE",
                    "MIDDLEWARE_LEAVING",
                    "TXN_OUTCOME_UNKNOWN",
                    "FENCED",
                    "NO_QUORUM",
                    "NOT_JOINING",
                    "UNAUTHENTICATED",
                    "FORBIDDEN",
                    "BAD_MESSAGE",
                    "UNKNOWN_MESSAGE",
                    "MESSAGE_TOO_LARGE",
                    "TIMEOUT",
                    "CLUSTER_FILE_INVALID",
                    "CLUSTER_UNREACHABLE",
                    "PROCESS_CONTROL_FAILED",
                    "STORAGE_UNAVAILABLE",
                    "USAGE",
                    "INTERNAL"
                  ]
                },
                "message": {
                  "type": "string"
                }
              },
              "required": [
                "line",
                "kind",
                "code",
                "message"
              ]
            }
          ]
        }
      },
      "error": {
        "type": "object",
        "properties": {
          "code": {
            "type": "string",
            "enum": [
              "BAD_COMMAND_FILE",
              "ENTRY_NONEXISTENT",
              "ENTRY_BOGUS",
              "INTEGER_OVERFLOW",
              "MAGIC_UNKNOWN",
              "TXN_ROLLED_BACK",
              "TXN_RETRIES_EXHAUSTED",
              "NODE_UNAVAILABLE",
              "MIDDLEWARE_LEAVING",
              "TXN_OUTCOME_UNKNOWN",
              "FENCED",
              "NO_QUORUM",
              "NOT_JOINING",
              "UNAUTHENTICATED",
              "FORBIDDEN",
              "BAD_MESSAGE",
              "UNKNOWN_MESSAGE",
              "MESSAGE_TOO_LARGE",
              "TIMEOUT",
              "CLUSTER_FILE_INVALID",
              "CLUSTER_UNREACHABLE",
              "PROCESS_CONTROL_FAILED",
              "STORAGE_UNAVAILABLE",
              "USAGE",
              "INTERNAL"
            ]
          },
          "message": {
            "type": "string"
          },
          "line": {
            "type": "integer",
            "exclusiveMinimum": 0,
            "maximum": 9007199254740991
          }
        },
        "required": [
          "code",
          "message"
        ]
      },
      "middlewareId": {
        "type": "integer",
        "minimum": -9007199254740991,
        "maximum": 9007199254740991
      },
      "quit": {
        "type": "boolean"
      },
      "traceId": {
        "type": "string",
        "maxLength": 100
      }
    },
    "required": [
      "outcome",
      "retries",
      "results",
      "middlewareId"
    ]
  },
  "shutdown": {
    "type": "object",
    "properties": {}
  },
  "observe": {
    "type": "object",
    "properties": {
      "hotKeys": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "key": {
              "type": "string"
            },
            "aborts": {
              "type": "integer",
              "minimum": 0,
              "maximum": 9007199254740991
            },
            "waits": {
              "type": "integer",
              "minimum": 0,
              "maximum": 9007199254740991
            }
          },
          "required": [
            "key",
            "aborts",
            "waits"
          ]
        }
      },
      "recent": {
        "type": "array",
        "items": {
          "type": "object",
          "properties": {
            "traceId": {
              "type": "string"
            },
            "outcome": {
              "type": "string"
            },
            "startedAt": {
              "type": "string"
            },
            "totalMs": {
              "type": "number",
              "minimum": 0
            },
            "errorCode": {
              "type": "string"
            },
            "timeline": {
              "type": "array",
              "items": {
                "type": "object",
                "properties": {
                  "atMs": {
                    "type": "number",
                    "minimum": 0
                  },
                  "phase": {
                    "type": "string"
                  },
                  "event": {
                    "type": "string"
                  },
                  "node": {
                    "type": "string"
                  }
                },
                "required": [
                  "atMs",
                  "phase",
                  "event"
                ]
              }
            }
          },
          "required": [
            "traceId",
            "outcome",
            "startedAt",
            "totalMs",
            "timeline"
          ]
        }
      }
    },
    "required": [
      "hotKeys",
      "recent"
    ]
  },
  "auth.hello": {
    "type": "object",
    "properties": {
      "nonce": {
        "type": "string",
        "maxLength": 128,
        "pattern": "^[A-Za-z0-9+/]*={0,2}$"
      },
      "salt": {
        "type": "string",
        "maxLength": 64,
        "pattern": "^[A-Za-z0-9+/]*={0,2}$"
      },
      "cost": {
        "type": "object",
        "properties": {
          "N": {
            "type": "integer",
            "minimum": 2,
            "maximum": 65536
          },
          "r": {
            "type": "integer",
            "minimum": 1,
            "maximum": 8
          },
          "p": {
            "type": "integer",
            "minimum": 1,
            "maximum": 2
          }
        },
        "required": [
          "N",
          "r",
          "p"
        ]
      }
    },
    "required": [
      "nonce",
      "salt",
      "cost"
    ]
  },
  "auth.proof": {
    "type": "object",
    "properties": {
      "signature": {
        "type": "string",
        "maxLength": 44,
        "pattern": "^[A-Za-z0-9+/]*={0,2}$"
      },
      "role": {
        "type": "string",
        "enum": [
          "node",
          "admin",
          "readwrite",
          "readonly"
        ]
      }
    },
    "required": [
      "signature",
      "role"
    ]
  }
};
