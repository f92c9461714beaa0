from banditore.cli import main

main()
