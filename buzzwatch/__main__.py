from buzzwatch.cli import main

raise SystemExit(main())
