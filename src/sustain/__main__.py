from sustain.cli import main

main()
